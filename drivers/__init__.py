"""Hardware drivers (NFC readers, barcode scanners) and the meaning of what they read.

Depends on nothing else in this project. Drivers run their blocking loops in threads and
put typed events from :mod:`drivers.events` onto one queue.
"""
