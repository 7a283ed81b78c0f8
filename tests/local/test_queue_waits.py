"""The Pipe's wait for messages: woken by a message, ended at once by a stopping twin."""

from __future__ import annotations

import threading

import pytest

from labelwatch.local.emulator import Emulator

pytestmark = pytest.mark.xdist_group("local-stack")

LONG = 120.0  # a wait that, unwoken, would outlast the test


def waiting(emulator: Emulator, queue: str) -> tuple[threading.Thread, list[bool]]:
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(emulator.queue_waits.wait(queue, LONG)))
    thread.start()
    return thread, answers


def test_a_message_wakes_the_wait_and_a_stop_ends_it():
    with Emulator() as emulator:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="ingest")["QueueUrl"]
        assert emulator.queue_waits.wait("ingest", 0.01) is False  # nothing there: the timeout

        thread, answers = waiting(emulator, "ingest")
        sqs.send_message(QueueUrl=url, MessageBody="image")
        thread.join(30)
        assert not thread.is_alive() and answers == [True]

        sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)  # in flight: not visible
        thread, answers = waiting(emulator, "ingest")
        emulator.queue_waits.end()
        thread.join(30)
        assert not thread.is_alive() and answers == [False]
        assert emulator.queue_waits.wait("ingest", LONG) is False  # ended: later waits return at once


def test_a_new_twin_waits_again():
    with Emulator() as emulator:
        emulator.client("sqs").create_queue(QueueName="ingest")
        emulator.queue_waits.end()
    with Emulator() as emulator:
        url = emulator.client("sqs").create_queue(QueueName="ingest")["QueueUrl"]
        thread, answers = waiting(emulator, "ingest")
        emulator.client("sqs").send_message(QueueUrl=url, MessageBody="image")
        thread.join(30)
        assert answers == [True]
