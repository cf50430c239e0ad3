"""Customer codes: short, human-friendly, typo-proof (C1)."""

from __future__ import annotations

import re


def damm_check_digit(number: str) -> str:
    """Damm check digit: catches every single-digit error and adjacent transposition."""
    table = (
        (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
        (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
        (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
        (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
        (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
        (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
        (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
        (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
        (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
        (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
    )
    interim = 0
    for digit in number:
        interim = table[interim][int(digit)]
    return str(interim)


def customer_code(sequence: int) -> str:
    """'C' + the sequence number + a check digit: short, readable over the phone, typo-proof."""
    digits = str(sequence)
    return f"C{digits}{damm_check_digit(digits)}"


def is_valid_customer_code(code: str) -> bool:
    return bool(re.fullmatch(r"C\d{2,18}", code)) and damm_check_digit(code[1:-1]) == code[-1]
