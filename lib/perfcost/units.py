"""The units the book's money and traffic are counted in, defined once.

* A billing month is :data:`HOURS_PER_MONTH` = 730 hours (8,760 hours a year / 12), the
  convention of the cloud providers' price calculators; a reader may price a calendar month
  instead, 28 to 31 days (:data:`MIN_HOURS_PER_MONTH`, :data:`MAX_HOURS_PER_MONTH`), so that
  monthly prices such as storage need no proration.
* Bytes are decimal, as cloud bills count them: 1 kB = 1,000 bytes, 1 GB = 10^9 bytes.
"""

from __future__ import annotations

__all__ = [
    "BYTES_PER_GB",
    "BYTES_PER_KB",
    "HOURS_PER_MONTH",
    "MAX_HOURS_PER_MONTH",
    "MIN_HOURS_PER_MONTH",
    "SECONDS_PER_HOUR",
]

HOURS_PER_MONTH = 730.0  # 8,760 hours a year / 12, the convention of cloud price calculators
MIN_HOURS_PER_MONTH = 672.0  # 28 days
MAX_HOURS_PER_MONTH = 744.0  # 31 days
SECONDS_PER_HOUR = 3600.0
BYTES_PER_KB = 1_000.0
BYTES_PER_GB = 1_000_000_000.0
