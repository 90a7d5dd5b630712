//! lucent-agent: placeholder entry point; the agent's features arrive with its own issue.

fn main() {
    eprintln!("lucent-agent: not implemented yet");
    std::process::exit(2);
}
