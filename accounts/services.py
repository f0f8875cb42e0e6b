"""Writes with rules for reader accounts: signing up and confirming the email address."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import emails
from .models import Reader, username_for

User = get_user_model()


class AccountExists(Exception):
    """A confirmed (or deactivated) account already uses this email address."""


class NotConfirmable(Exception):
    """The account is already confirmed, or was deactivated after its confirmation."""


@transaction.atomic
def reader_sign_up(*, email: str, password: str, next_url: str = "") -> User:
    """Create an inactive account for `email` and send the link that confirms it.

    Signing up again before confirming (a lost email, a forgotten password) sets the new password
    and sends a new link; the earlier links stop working. Raises AccountExists when a confirmed or
    deactivated account, or a staff account, already has this address as its username."""
    username = username_for(email)
    user = User.objects.select_for_update().filter(username=username).first()
    if user is not None:
        reader = Reader.objects.filter(user=user).first()
        if reader is None or reader.is_confirmed:
            raise AccountExists(email)
        user.email = email
        user.set_password(password)
        user.save(update_fields=["email", "password"])
    else:
        user = User(username=username, email=email, is_active=False)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as error:  # the same address signed up at the same moment
            raise AccountExists(email) from error
        Reader.objects.create(user=user)
    emails.send_confirmation(user_id=user.pk, next_url=next_url)
    return user


@transaction.atomic
def reader_confirm(*, user_id: int) -> User:
    """Mark the account's email confirmed and let it log in. Raises NotConfirmable when it was
    confirmed before (a link used twice, or an account an administrator has since deactivated)."""
    reader = Reader.objects.select_for_update().select_related("user").get(user_id=user_id)
    if reader.is_confirmed:
        raise NotConfirmable(user_id)
    reader.confirmed_at = timezone.now()
    reader.save(update_fields=["confirmed_at"])
    reader.user.is_active = True
    reader.user.save(update_fields=["is_active"])
    return reader.user


@transaction.atomic
def reader_resend_confirmation(*, email: str, next_url: str = "") -> None:
    """Send a new confirmation link if an unconfirmed account has this address; else nothing, so
    the answer tells no one which addresses have accounts."""
    reader = Reader.objects.select_related("user").filter(user__username=username_for(email)).first()
    if reader is not None and not reader.is_confirmed:
        emails.send_confirmation(user_id=reader.user_id, next_url=next_url)
