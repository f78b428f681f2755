"""moto's SQS without a walk over the whole queue for every message it touches.

moto 5.2 keeps a queue's messages in one list. A delete looks for the receipt handle in every message,
twice; a receive builds the list of visible messages, then reads all the queue's attributes (three more
walks over the queue) for each message it returns; every send reads the attributes too; and each of those
walks reads the clock through `datetime` once or twice per message. With 1,000 messages queued that was
~80 ms per SendMessageBatch and ~150 ms per receive plus delete: the emulator, not the code under test,
set the pace of `npm run bench:intake`.

These patches keep moto's behaviour (the same checks in the same order, the same errors) and change how a
message is found:
- each receipt handle a message is given is indexed to the message, so a delete or a visibility change is
  a dictionary lookup plus a check that the message is still on this queue;
- a receive reads the clock once per pass over the queue and stops at the messages it needs;
- the queue's message counts read the clock once, and the attribute names they are read by are converted
  from CamelCase once, not on every send (moto reads all attributes to check one FIFO setting);
- a receipt handle is drawn in one call to the random generator, not 185.
A queue's receives, deletes and visibility changes take its lock: moto's server runs a thread per
connection, and two concurrent receives must not hand out the same message.
"""

from __future__ import annotations

import string
import weakref
from copy import deepcopy
from functools import lru_cache
from typing import Any

from moto.core.utils import camelcase_to_underscores, unix_time, unix_time_millis
from moto.moto_api._internal import mock_random
from moto.sqs import models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

# The length and alphabet of moto's receipt handles.
RECEIPT_HANDLE_LENGTH = 185
# AWS's ceiling on a message's total visibility timeout, counted from when it was sent.
MAX_TOTAL_VISIBILITY_MS = 43_200 * 1000

# Every receipt handle given out -> its message. Weak, so a message moto forgets is forgotten here too.
_handles: weakref.WeakValueDictionary[str, Message] = weakref.WeakValueDictionary()
_original_mark_received = Message.mark_received


def apply() -> None:
    setattr(models, "camelcase_to_underscores", lru_cache(maxsize=256)(camelcase_to_underscores))
    setattr(models, "generate_receipt_handle", generate_receipt_handle)
    setattr(Message, "mark_received", mark_received)
    setattr(Queue, "messages", property(visible_messages))
    setattr(Queue, "approximate_number_of_messages_delayed", property(count_delayed))
    setattr(Queue, "approximate_number_of_messages_not_visible", property(count_not_visible))
    setattr(Queue, "wait_for_messages", wait_for_messages)
    setattr(Queue, "delete_message", delete_message)
    setattr(SQSBackend, "receive_message", receive_message)
    setattr(SQSBackend, "change_message_visibility", change_message_visibility)
    setattr(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)


def mark_received(self: Message, visibility_timeout: int | None = None) -> None:
    _original_mark_received(self, visibility_timeout)
    if self.receipt_handle is not None:
        _handles[self.receipt_handle] = self


def generate_receipt_handle() -> str:
    # moto's seedable generator, as moto draws from it.
    return "".join(mock_random.choices(string.ascii_lowercase, k=RECEIPT_HANDLE_LENGTH))


def find_message(queue: Queue, receipt_handle: str) -> Message | None:
    """The message on `queue` that was ever given `receipt_handle` (moto accepts old handles too)."""
    message = _handles.get(receipt_handle)
    # `in` compares identities in C: cheap next to moto's handle lists built per message.
    if message is None or message not in queue._messages:
        return None
    return message


def _visible(message: Message, now: float) -> bool:
    return now > message.visible_at and not now < message.delayed_until


# The walks below compare inline, not through _visible: each send reads all three counts.


def visible_messages(self: Queue) -> list[Message]:
    now = unix_time_millis()
    return [message for message in self._messages if now > message.visible_at and not now < message.delayed_until]


def count_delayed(self: Queue) -> int:
    now = unix_time_millis()
    return len([message for message in self._messages if now < message.delayed_until])


def count_not_visible(self: Queue) -> int:
    now = unix_time_millis()
    return len([message for message in self._messages if not now > message.visible_at])


def wait_for_messages(self: Queue, timeout: int) -> None:
    def any_visible() -> bool:
        now = unix_time_millis()
        return any(_visible(message, now) for message in self._messages)

    with self._messages_lock:
        self._messages_lock.wait_for(any_visible, timeout=timeout)


def delete_message(self: Queue, receipt_handle: str) -> None:
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            # Already deleted: AWS accepts the handle again.
            return
        message = find_message(self, receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        self._messages.remove(message)
        self.pending_messages.discard(message)
        self.deleted_messages.update(handle for handle in message.all_receipt_handles if handle is not None)


def change_message_visibility(self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        message = find_message(queue, receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        given_visibility_timeout = unix_time_millis() + int(visibility_timeout) * 1000
        if given_visibility_timeout - (message.sent_timestamp or 0) > MAX_TOTAL_VISIBILITY_MS:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
    # moto reads the whole attribute map (three walks over the queue) for this one number.
    retention_period: int = getattr(self.get_queue(queue_name), "message_retention_period")
    return bool(retention_period + (message.sent_timestamp or 0) / 1000 > unix_time())


def receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    """moto's receive: up to `count` visible messages, waiting up to `wait_seconds_timeout` for one;
    messages received `maxReceiveCount` times move to the dead-letter queue instead."""
    queue = self.get_queue(queue_name)
    names = message_attribute_names or []
    result: list[Message] = []
    polling_end = unix_time() + wait_seconds_timeout
    while not result and not (wait_seconds_timeout and unix_time() > polling_end):
        with queue._messages_lock:
            to_dead_letter = _receive_pass(self, queue_name, queue, count, visibility_timeout, names, result)
            for message in to_dead_letter:
                queue._messages.remove(message)
        # Outside this queue's lock: two queues may be each other's dead-letter queue.
        for message in to_dead_letter:
            dead_letter_queue: Any = queue.dead_letter_queue
            dead_letter_queue.add_message(message)
        if not result:
            if wait_seconds_timeout == 0:
                break
            queue.wait_for_messages(1)
    return result


def _receive_pass(
    backend: SQSBackend,
    queue_name: str,
    queue: Queue,
    count: int,
    visibility_timeout: int,
    names: list[str],
    result: list[Message],
) -> list[Message]:
    """One walk over the queue, in moto's order: takes visible messages into `result`; returns the ones
    due for the dead-letter queue."""
    now = unix_time_millis()
    pending = queue.pending_messages
    groups = queue.pending_message_groups if queue.fifo_queue else set()
    redrive: Any = queue.redrive_policy
    max_receives = redrive["maxReceiveCount"] if queue.dead_letter_queue is not None and redrive else None
    to_dead_letter: list[Message] = []
    for message in queue._messages:
        if not _visible(message, now):
            continue
        if message in pending:
            # Pending but visible again: the consumer's visibility timeout ran out.
            pending.remove(message)
            if queue.fifo_queue:
                groups = queue.pending_message_groups
        if queue.fifo_queue and message.group_id and message.group_id in groups:
            # A receive still holds a message of this group.
            continue
        if max_receives is not None and message.approximate_receive_count >= max_receives:
            to_dead_letter.append(message)
            continue
        pending.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        # A copy, so filtering the attributes for this receive leaves the stored message whole.
        copy = deepcopy(message)
        _filter_message_attributes(copy, names)
        if not backend.is_message_valid_based_on_retention_period(queue_name, message):
            break
        result.append(copy)
        if len(result) >= count:
            break
    return to_dead_letter
