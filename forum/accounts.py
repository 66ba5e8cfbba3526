"""Account services: one function per action, shared by every adapter."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import access
from forum import aliases
from forum import clock
from forum import i18n
from forum import passwords
from forum import recovery
from forum import search
from forum import sessions
from forum import signals
from forum import text
from forum import threads
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.pagination import paginate

WRONG_LOGIN = _l("That alias and passphrase don't match an account.")
CODES_GONE = _l("These codes are not your current ones. Please make new codes.")
WRONG_RECOVERY = _l("That alias and recovery code don't match. Check the code and try again.")

_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against when the alias is unknown, so timing tells nothing.

    Made with the current costs, and made again when they change (``passwords.configure``):
    a dummy cheaper than real hashes would tell unknown aliases apart by time.
    """
    if not _dummy or passwords.needs_rehash(_dummy[0]):
        _dummy[:] = [passwords.hash_passphrase("not-a-real-passphrase-at-all")]
    return _dummy[0]


@dataclass
class SignedIn:
    account: Account
    session: AuthSession
    token: str
    recovery_codes: list[str] | None = None


def _secret(value: object, field: str) -> str:
    """A passphrase as typed: the one text check (forum/text.py), without stripping it."""
    return text.clean(value, field, passwords.MAX_LENGTH, multiline=True, verbatim=True)


def _new_passphrase(passphrase: object, again: object, alias: str) -> str:
    passphrase = passwords.check_passphrase(passphrase, alias=alias)
    if not isinstance(again, str) or again != passphrase:
        raise Invalid(_("The two passphrases are not the same. Please type it again."))
    return passphrase


def find_by_alias(raw: object) -> Account | None:
    """The account whose alias looks like ``raw`` (same skeleton), or None."""
    if not isinstance(raw, str) or len(raw) > 200:
        return None
    try:
        key = aliases.alias_skeleton(aliases.normalise_alias(raw))
    except Invalid:
        return None
    return db.session.scalar(sa.select(Account).where(Account.alias_key == key))


def sign_up(alias: object, passphrase: object, again: object) -> SignedIn:
    """Create an account from an alias and a passphrase; sign it in; make recovery codes."""
    alias = aliases.normalise_alias(alias)
    key = aliases.alias_skeleton(alias)
    passphrase = _new_passphrase(passphrase, again, alias)
    if db.session.scalar(sa.select(Account.id).where(Account.alias_key == key)) is not None:
        raise Conflict(
            _("That alias, or one that looks just like it, is taken. Please pick another.")
        )
    account = Account(
        alias=alias,
        alias_key=key,
        passphrase_hash=passwords.hash_passphrase(passphrase),
        created_at=clock.today(),  # to the day: trust counts days (docs/PRIVACY.md)
        codes_confirmed=False,  # until one code is typed back (confirm_codes)
    )
    db.session.add(account)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Two sign-ups raced for the same skeleton; the unique index decided.
        db.session.rollback()
        raise Conflict(
            _("That alias, or one that looks just like it, is taken. Please pick another.")
        ) from None
    codes = recovery.replace_codes(account)
    row, token = sessions.new_session(account)
    db.session.commit()
    return SignedIn(account, row, token, codes)


def log_in(alias: object, passphrase: object) -> SignedIn:
    """Check the passphrase and start a new session (a fresh token every time)."""
    passphrase = _secret(passphrase, _("passphrase"))
    account = find_by_alias(alias)
    if account is None:
        passwords.verify_passphrase(_dummy_hash(), passphrase)  # same time either way
        raise Invalid(WRONG_LOGIN)
    if not passwords.verify_passphrase(account.passphrase_hash, passphrase):
        raise Invalid(WRONG_LOGIN)
    if sessions.is_suspended(account, clock.now()):
        raise Invalid(_("This account is suspended. Please contact the people who run this site."))
    if passwords.needs_rehash(account.passphrase_hash):
        account.passphrase_hash = passwords.hash_passphrase(passphrase)
    row, token = sessions.new_session(account)
    db.session.commit()
    return SignedIn(account, row, token)


def log_out(session: AuthSession) -> None:
    """End one session now (its cookie stops working everywhere)."""
    account_id, session_id = session.account_id, session.id
    db.session.delete(session)
    db.session.commit()
    signals.account_signed_out.send(account_id, session_ids=[session_id])


def list_sessions(account: Account, page: int = 1, per_page: int = 20) -> list[AuthSession]:
    """The account's sessions, newest activity first (bounded)."""
    query = (
        sa.select(AuthSession)
        .where(AuthSession.account_id == account.id)
        .order_by(AuthSession.last_seen_at.desc(), AuthSession.id.desc())
    )
    return paginate(query, page, per_page).items


def revoke_session(account: Account, session_id: object) -> None:
    """End one of the account's own sessions. Another account's id is "not found"."""
    row = db.session.get(AuthSession, access.row_id(session_id))
    if row is None or row.account_id != account.id:
        raise NotFound()
    log_out(row)


def revoke_all(account: Account, keep: AuthSession | None = None) -> int:
    """End every session of the account except ``keep``; return how many ended."""
    query = sa.select(AuthSession.id).where(AuthSession.account_id == account.id)
    if keep is not None:
        query = query.where(AuthSession.id != keep.id)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(sa.delete(AuthSession).where(AuthSession.id.in_(ids)))
    db.session.commit()
    if ids:
        signals.account_signed_out.send(account.id, session_ids=ids)
    return len(ids)


def change_passphrase(
    account: Account, current: object, new: object, again: object, session: AuthSession
) -> SignedIn:
    """Replace the passphrase; every other session ends and this one gets a new token."""
    current = _secret(current, _("current passphrase"))
    if not passwords.verify_passphrase(account.passphrase_hash, current):
        raise Invalid(_("Your current passphrase is not right."))
    new = _new_passphrase(new, again, account.alias)
    account.passphrase_hash = passwords.hash_passphrase(new)
    return _restart_sessions(account)


def _restart_sessions(account: Account) -> SignedIn:
    ids = list(
        db.session.scalars(sa.select(AuthSession.id).where(AuthSession.account_id == account.id))
    )
    db.session.execute(sa.delete(AuthSession).where(AuthSession.account_id == account.id))
    row, token = sessions.new_session(account)
    db.session.commit()
    if ids:
        signals.account_signed_out.send(account.id, session_ids=ids)
    return SignedIn(account, row, token)


def reset_with_code(alias: object, code: object, new: object, again: object) -> SignedIn:
    """Set a new passphrase with alias + one recovery code, which is then spent."""
    code = text.clean(code, _("recovery code"), recovery.LONGEST)
    account = find_by_alias(alias)
    if account is None or not recovery.spend_code(account, code):
        db.session.rollback()
        raise Invalid(WRONG_RECOVERY)
    try:
        new = _new_passphrase(new, again, account.alias)
    except Invalid:
        db.session.rollback()  # a weak new passphrase must not burn the code
        raise
    account.passphrase_hash = passwords.hash_passphrase(new)
    return _restart_sessions(account)


def regenerate_codes(account: Account, passphrase: object) -> list[str]:
    """New recovery codes; the old ones stop working."""
    passphrase = _secret(passphrase, _("passphrase"))
    if not passwords.verify_passphrase(account.passphrase_hash, passphrase):
        raise Invalid(_("Your passphrase is not right."))
    codes = recovery.replace_codes(account)
    account.codes_confirmed = False
    db.session.commit()
    return codes


def confirm_codes(account: Account, shown: list[object], ask: object, typed: object) -> None:
    """The member typed back code number ``ask`` of the codes just ``shown``: the account
    is no longer held at the recovery-codes step. Raises Invalid when the code typed is
    not that one, or when ``shown`` are not (any more) this account's codes."""
    codes = recovery.shown_codes(account, shown)
    if not codes:
        raise Invalid(CODES_GONE)
    number = ask if isinstance(ask, int) else -1
    if not 1 <= number <= len(codes):
        raise Invalid(_("Please type the code asked for below."))
    typed = text.clean(typed, _("code"), recovery.LONGEST, required=False)
    if not typed:
        raise Invalid(_("Please type code %(n)s from the list.", n=number))
    if not recovery.same_code(typed, codes[number - 1]):
        raise Invalid(
            _(
                "That is not code %(n)s. Look at code %(n)s in the list and type it again.",
                n=number,
            )
        )
    account.codes_confirmed = True
    db.session.commit()


def set_preferences(
    account: Account, *, discreet: object, locale: object, time_zone: object = ""
) -> None:
    """Save the discreet-mode switch, the interface language and the time zone.

    An empty language or zone means "as my browser says" (``forum/i18n.py``).
    """
    if not isinstance(discreet, bool):
        raise Invalid(_("Discreet mode must be on or off."))
    if locale not in ("", None) and not i18n.valid_language(locale):
        raise Invalid(_("We don't have that language yet."))
    if time_zone not in ("", None) and not i18n.valid_time_zone(time_zone):
        raise Invalid(_("Choose a time zone from the list."))
    account.discreet = discreet
    account.locale = locale or None
    account.time_zone = time_zone or None
    db.session.commit()


def set_discreet(account: Account, on: bool) -> None:
    """The discreet-mode switch alone (the footer button of a signed-in member)."""
    account.discreet = bool(on)
    db.session.commit()


def set_language(account: Account, locale: object) -> None:
    """The picker, for a member: keep the language on the account."""
    if not i18n.valid_language(locale):
        raise Invalid(_("We don't have that language yet."))
    account.locale = locale
    db.session.commit()


def delete_account(account: Account, passphrase: object, keep_content: bool = False) -> None:
    """Hard-delete the account, its sessions, codes and memberships, now.

    ``keep_content=False`` (the default) deletes everything they wrote too;
    ``True`` leaves it, shown as "[deleted]", with no link back to them.
    """
    passphrase = _secret(passphrase, _("passphrase"))
    if not passwords.verify_passphrase(account.passphrase_hash, passphrase):
        raise Invalid(_("Your passphrase is not right."))
    account_id = account.id
    keep = bool(keep_content)
    gone = threads.forget_author(account_id, keep)
    # Moderation forgets them in its log, chat deletes or detaches their messages,
    # in this same transaction.
    signals.account_deleting.send(account_id, keep_content=keep)
    db.session.delete(account)
    db.session.commit()
    search.compact()  # deleted words leave the search index on disk
    signals.account_deleted.send(account_id)
    for post_id, thread_id, space_id, thread_deleted in gone:  # open thread pages drop them now
        signals.post_deleted.send(
            post_id, thread_id=thread_id, space_id=space_id, thread_deleted=thread_deleted
        )
