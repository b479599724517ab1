"""The admin command line: what an admin does on the server without a browser.

    python manage.py --help
    python manage.py create-admin ada@example.org --name "Ada"      (prints a generated password)
    python manage.py reset-password bob@example.org --password-stdin
    python manage.py deactivate bob@example.org
    python manage.py list-users
    python manage.py migrate
    python manage.py check-config
    python manage.py health [--url http://127.0.0.1:8080] [--token owp_...]
    python manage.py backup [--output PATH]                          (also while the platform runs)
    python manage.py restore PATH [--data-dir DIR]                   (into an empty data directory)

It reads the same settings as the app (environment and `.env`) and works on the same database, also while the
platform is running. Every change is written to the audit log as done from the console. Exit codes: 0 done, 1 refused
(with the reason), 2 wrong settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import string
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from config import Settings, load_settings


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated): from standard input with --password-stdin, else a new random one to print once."""
    if args.password_stdin:
        text = sys.stdin.readline().rstrip('\n') if not sys.stdin.isatty() else getpass.getpass('New password: ')
        return text, False
    alphabet = string.ascii_letters + string.digits
    while True:
        value = ''.join(secrets.choice(alphabet) for _ in range(20))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value, True


async def _with_database(settings: Settings, work) -> int:
    from services.core import db
    from services.core.audit import AuditService
    from services.core.auth import AuthService
    from services.core.errors import ServiceError

    await db.open_database(settings.db_url)
    try:
        auth = AuthService(
            min_password_length=settings.password_min_length,
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window_seconds,
            signup_open_default=settings.signup_open_default,
        )
        auth.audit_hook = AuditService(auth).record
        try:
            await work(auth)
        except ServiceError as exc:
            print(f'Refused: {exc.message}', file=sys.stderr)
            return 1
        return 0
    finally:
        await db.close_database()


def create_admin(settings: Settings, args: argparse.Namespace) -> int:
    async def work(auth) -> None:
        password, generated = _password(args)
        user = await auth.console_create_admin(args.email, args.name or args.email.split('@')[0], password)
        print(f'Created admin {user.email} (id {user.id}).')
        if generated:
            print(f'Password (shown once; change it after signing in): {password}')

    return asyncio.run(_with_database(settings, work))


def reset_password(settings: Settings, args: argparse.Namespace) -> int:
    async def work(auth) -> None:
        password, generated = _password(args)
        await auth.console_reset_password(args.email, password)
        print(f'Password of {args.email} reset.')
        if generated:
            print(f'New password (shown once): {password}')

    return asyncio.run(_with_database(settings, work))


def set_active(active: bool):
    def command(settings: Settings, args: argparse.Namespace) -> int:
        async def work(auth) -> None:
            user = await auth.console_set_active(args.email, active)
            print(f'{user.email} is now {"active" if user.is_active else "deactivated"}.')

        return asyncio.run(_with_database(settings, work))

    return command


def list_users(settings: Settings, args: argparse.Namespace) -> int:
    async def work(auth) -> None:
        users = await auth.console_users()
        if args.json:
            print(json.dumps([{'id': u.id, 'email': u.email, 'name': u.display_name, 'role': u.role.value,
                               'active': u.is_active} for u in users], indent=2))  # fmt: skip
            return
        if not users:
            print('No accounts yet. Create the first admin with: python manage.py create-admin EMAIL')
        for u in users:
            print(f'{u.id:>5}  {u.role.value:<10}  {"active" if u.is_active else "deactivated":<11}  {u.email}'
                  f'  ({u.display_name})')  # fmt: skip

    return asyncio.run(_with_database(settings, work))


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.core import db

    async def run() -> int:
        applied = await db.open_database(settings.db_url)
        await db.close_database()
        print(
            f'Applied {len(applied)} migration(s): {", ".join(applied)}' if applied else 'The database is up to date.'
        )
        return 0

    return asyncio.run(run())


def check_config(settings: Settings, args: argparse.Namespace) -> int:
    secret_words = ('secret', 'token', 'password')
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if value != field.default:
            shown = '(set)' if any(w in name for w in secret_words) and value else value
            print(f'{name.upper()}={shown}')
    print('The configuration is valid (settings not listed have their defaults).')
    return 0


def health(settings: Settings, args: argparse.Namespace) -> int:
    url = (args.url or f'http://127.0.0.1:{settings.port}').rstrip('/')
    headers = {'Authorization': f'Bearer {args.token}'} if args.token else {}
    try:
        response = httpx.get(f'{url}/health/ready', headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        print(f'The platform at {url} does not answer: {exc}', file=sys.stderr)
        return 1
    report = response.json() if response.headers.get('content-type', '').startswith('application/json') else {}
    print(json.dumps(report, indent=2) if report else response.text)
    return 0 if response.status_code == 200 else 1


def backup(settings: Settings, args: argparse.Namespace) -> int:
    from services.admin import backup as backups

    stamp = datetime.now(UTC).strftime('%Y%m%d-%H%M%S')
    output = Path(args.output) if args.output else Path(f'platform-backup-{stamp}.tar.gz')
    try:
        result = backups.backup(settings, output)
    except backups.Refused as exc:
        print(f'Refused: {exc}', file=sys.stderr)
        return 1
    manifest = result.manifest
    rows = sum(c['rows'] for c in manifest['collections'])
    print(f'Backup written to {result.path} ({result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s): '
          f'{manifest["database"]} database at migration {manifest["migration"]}, {len(manifest["collections"])} '
          f'vector collection(s) with {rows} vector(s), {", ".join(manifest["contents"][:4])}'
          f'{" …" if len(manifest["contents"]) > 4 else ""}.')  # fmt: skip
    print('It holds password hashes, tokens and the storage secret: keep it as safe as the server.')
    return 0


def restore(settings: Settings, args: argparse.Namespace) -> int:
    from services.admin import backup as backups

    if args.data_dir:
        settings = settings.model_copy(update={'data_dir': Path(args.data_dir).expanduser().resolve()})
    try:
        manifest = backups.restore(settings, Path(args.path))
    except backups.Refused as exc:
        print(f'Refused: {exc}', file=sys.stderr)
        return 1
    except Exception as exc:
        print(f'The restore failed: {exc}. {settings.data_dir} (and the database) may be partly restored: empty '
              'them before trying again.', file=sys.stderr)  # fmt: skip
        return 1
    print(f'Restored the backup of {manifest["created_at"]} (version {manifest["app_version"]}, migration '
          f'{manifest["migration"]}) into {settings.data_dir}.')  # fmt: skip
    print('Start the platform: it applies any newer migrations.')
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog='python manage.py', description=__doc__.split('\n\n')[0])
    commands = main.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    sub = add('create-admin', create_admin, 'Create an admin account (the first one on a new platform, too).')
    sub.add_argument('email')
    sub.add_argument('--name', help='display name (default: the part of the email before @)')
    sub.add_argument('--password-stdin', action='store_true', help='read the password from standard input')
    sub = add('reset-password', reset_password, 'Set a new password for an account (a generated one is printed).')
    sub.add_argument('email')
    sub.add_argument('--password-stdin', action='store_true', help='read the password from standard input')
    add('deactivate', set_active(False), 'Deactivate an account: it can no longer sign in or act.').add_argument(
        'email'
    )
    add('activate', set_active(True), 'Activate a deactivated account again.').add_argument('email')
    add('list-users', list_users, 'List the accounts with their role and state.').add_argument(
        '--json', action='store_true', help='as JSON'
    )
    add('migrate', migrate, 'Apply pending database migrations (the app also does this when it starts).')
    add('check-config', check_config, 'Check the settings and list the ones that differ from the defaults.')
    sub = add('health', health, "Ask a running platform's /health/ready (with an admin token: the details).")
    sub.add_argument('--url', help='where the platform answers (default: http://127.0.0.1:PORT)')
    sub.add_argument('--token', help="an admin's personal API token, for the details")
    sub = add('backup', backup, 'Back up the database, vectors, uploads and storage secret into one .tar.gz '
              '(also while the platform runs).')  # fmt: skip
    sub.add_argument('--output', help='the file to write (default: platform-backup-YYYYMMDD-HHMMSS.tar.gz here)')
    sub = add('restore', restore, 'Restore a backup into an empty data directory (and an empty database).')
    sub.add_argument('path', help='the .tar.gz written by "backup"')
    sub.add_argument('--data-dir', help='where to restore (default: DATA_DIR); it must be empty or not exist')
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings()
    if args.handler not in (health, check_config, backup, restore):  # a restore needs the data directory empty
        settings.ensure_dirs()
    return args.handler(settings, args)


if __name__ == '__main__':
    sys.exit(main())
