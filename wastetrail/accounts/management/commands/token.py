"""`wastetrail token create --user NAME --name CLIENT`: an API token for a machine client."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wastetrail.accounts import services
from wastetrail.accounts.models import ApiToken, User
from wastetrail.accounts.policy import actor_for


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. The secret is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("--user", required=True, help="username the client acts as")
        parser.add_argument("--name", default="", help="what uses the token (create)")
        parser.add_argument("--id", type=int, help="token id (revoke)")

    def handle(self, *args, action: str, user: str, name: str, id: int | None, **options):
        account = User.objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"no active user named {user!r}")
        actor = actor_for(account)
        if action == "create":
            try:
                token, secret = services.api_token_create(actor=actor, name=name)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            self.stdout.write(f"token {token.pk} for {user}: {secret}")
        elif action == "list":
            for token in ApiToken.objects.filter(user=account).order_by("pk"):
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(f"{token.pk}\t{token.prefix}…\t{token.name}\t{state}")
        else:
            token = ApiToken.objects.filter(user=account, pk=id).first()
            if token is None:
                raise CommandError(f"user {user!r} has no token with id {id}")
            services.api_token_revoke(actor=actor, token=token)
            self.stdout.write(f"token {id} revoked")
