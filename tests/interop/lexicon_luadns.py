#!/usr/bin/env python3
"""Drive dns-lexicon's real `luadns` provider against lucentd's LuaDNS-style API.

lexicon hard-codes https://api.luadns.com/v1 in the provider's constructor and has no option
for it (docs/protocols.md §3.3), so this script builds the provider exactly as lexicon's own client
does and then overwrites `provider.api_endpoint`. Everything else (auth, zone lookup, record
create/list/delete requests and their JSON) is lexicon's unmodified code.

usage: lexicon_luadns.py ENDPOINT EMAIL APIKEY DOMAIN ACTION [NAME [CONTENT]]
  ACTION: auth | create | list | delete
  list prints one line per TXT record found: `TXT <name> <content>`.
Exit 0 on success, 1 on any error (the error is printed).
"""
import sys
import warnings


def make_provider(endpoint, email, key, domain):
    with warnings.catch_warnings():
        # lexicon >= 3.12 deprecates importing providers directly; 3.11 (Debian) has no other way.
        warnings.simplefilter("ignore", DeprecationWarning)
        from lexicon.config import ConfigResolver
        from lexicon.providers import luadns

    config = ConfigResolver().with_dict(
        {
            "provider_name": "luadns",
            "domain": domain,
            "luadns": {"auth_username": email, "auth_token": key},
        }
    )
    provider = luadns.Provider(config)
    provider.api_endpoint = endpoint  # the one change: point it at lucentd
    return provider


def run(provider, action, name, content):
    # Newer lexicon releases make providers context managers; 3.11 (Debian) does not.
    if hasattr(provider, "__enter__"):
        with provider:
            return act(provider, action, name, content)
    return act(provider, action, name, content)


def act(provider, action, name, content):
    provider.authenticate()
    print(f"lexicon: authenticated, zone {provider.domain} has id {provider.domain_id}")
    if action == "auth":
        return
    if action == "create":
        ok = provider.create_record("TXT", name, content)
        print(f"lexicon: create_record(TXT, {name}, {content}) -> {ok}")
        if not ok:
            raise SystemExit(1)
    elif action == "list":
        records = provider.list_records("TXT", name)
        print(f"lexicon: list_records(TXT, {name}) -> {len(records)} record(s)")
        for r in records:
            print(f"TXT {r['name']} {r['content']}")
    elif action == "delete":
        ok = provider.delete_record(None, "TXT", name, content)
        print(f"lexicon: delete_record(TXT, {name}, {content}) -> {ok}")
        if not ok:
            raise SystemExit(1)
    else:
        raise SystemExit(f"unknown action {action}")


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, email, key, domain, action = sys.argv[1:6]
    name = sys.argv[6] if len(sys.argv) > 6 else None
    content = sys.argv[7] if len(sys.argv) > 7 else None
    try:
        import lexicon

        version = getattr(lexicon, "__version__", None)
        if version is None:
            from importlib.metadata import version as dist_version

            version = dist_version("dns-lexicon")
        print(f"lexicon: dns-lexicon {version} from {lexicon.__file__}")
        run(make_provider(endpoint, email, key, domain), action, name, content)
    except SystemExit:
        raise
    except Exception as e:  # report the client's own error text
        resp = getattr(e, "response", None)
        extra = f" (HTTP {resp.status_code}: {resp.text[:300]!r})" if resp is not None else ""
        print(f"lexicon: ERROR {type(e).__name__}: {e}{extra}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
