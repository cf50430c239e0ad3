"""Logging rules every process follows: secrets never reach a log line.

At DEBUG, aiormq logs every AMQP frame and PyMongo every command document, bodies
included: a password in a command or a token in a link would land in the log. Those
loggers never go below INFO, whatever the root level.
"""

from __future__ import annotations

import logging

WIRE_LOGGERS = ("aiormq", "aio_pika", "pamqp", "pymongo")


def keep_payloads_out_of_logs() -> None:
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
