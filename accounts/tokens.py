from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Links that confirm a new account's email address: signed with the secret key, valid for
    PASSWORD_RESET_TIMEOUT, and used up once the account is confirmed (or its password changes,
    when the reader signs up again before confirming)."""

    key_salt = "accounts.tokens.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        reader = getattr(user, "reader", None)
        confirmed = reader.confirmed_at.isoformat() if reader and reader.confirmed_at else ""
        return f"{user.pk}{user.password}{user.is_active}{user.email}{confirmed}{timestamp}"


confirmation_token = EmailConfirmationTokenGenerator()
