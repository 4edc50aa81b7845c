"""The outbox's messenger on Green API (`hotelbot.app.outbox_step.Messenger`): one send, and
what its answer means for the message, as an `Attempt`.

The classification is the contract the no-duplicate guarantee rests on: only an error that
shows the request had no effect (it never left, a 429, a 5xx other than 502/504) may lead
to a resend; everything else that is not a success or a refusal of the request itself is
`MAYBE_APPLIED`, settled later by the echo or the journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotelbot.app.outbox_step import Attempt, ClaimedMessage, SendAttempt
from hotelbot.greenapi.errors import (
    BadRequest,
    BadResponse,
    GreenApiError,
    InstanceNotReady,
    NetworkError,
    QuotaExceeded,
    RateLimited,
    ServerError,
    Unauthorized,
)

if TYPE_CHECKING:
    from hotelbot.greenapi.client import GreenApiClient


class GreenApiMessenger:
    """Sends claimed outbox rows through one hotel's `GreenApiClient`."""

    def __init__(self, client: GreenApiClient) -> None:
        self.client = client

    async def send(self, item: ClaimedMessage, *, timeout_s: float) -> SendAttempt:
        """sendFileByUrl for a row with a file (its text the caption), else sendMessage.
        Never raises (an unexpected error, e.g. the client closed under us, is ambiguous)."""
        client = self.client
        try:
            if item.file_url is not None and item.file_name is not None:
                id_message = await client.send_file_by_url(
                    item.chat_id,
                    item.file_url,
                    item.file_name,
                    caption=item.text,
                    timeout_s=timeout_s,
                )
            else:
                id_message = await client.send_message(
                    item.chat_id,
                    item.text,
                    quoted_message_id=item.quoted_message_id,
                    timeout_s=timeout_s,
                )
        except NetworkError as exc:
            sent = Attempt.MAYBE_APPLIED if exc.request_sent else Attempt.NOT_APPLIED
            return SendAttempt(sent, error=f"{exc}")
        except RateLimited as exc:
            return SendAttempt(
                Attempt.NOT_APPLIED,
                error=f"{exc}",
                retry_after_s=exc.retry_after_s,
                rate_limited=True,
            )
        except ServerError as exc:
            sent = Attempt.MAYBE_APPLIED if exc.maybe_applied else Attempt.NOT_APPLIED
            return SendAttempt(sent, error=f"{exc}")
        except BadResponse as exc:  # a 200 we could not read: it may well have been sent
            return SendAttempt(Attempt.MAYBE_APPLIED, error=f"{exc}")
        except (InstanceNotReady, Unauthorized, QuotaExceeded) as exc:
            return SendAttempt(Attempt.CANNOT_SEND, error=str(exc))
        except BadRequest as exc:
            return SendAttempt(Attempt.REJECTED, error=str(exc))
        except GreenApiError as exc:  # any other class: ambiguous, never resend blind
            return SendAttempt(Attempt.MAYBE_APPLIED, error=f"{exc}")
        except Exception as exc:  # e.g. the client closed under us: ambiguous as well
            return SendAttempt(Attempt.MAYBE_APPLIED, error=type(exc).__name__)
        return SendAttempt(Attempt.ACCEPTED, id_message=id_message)


__all__ = ["GreenApiMessenger"]
