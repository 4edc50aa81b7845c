"""Use cases: one function per thing the product does, one transaction each.

A use case decides with `hotelbot.domain` and reads and writes through the small protocols
it declares, so the CLI and the daemon run the same rule. It imports no SQLAlchemy and
starts no tasks; `hotelbot.storage` provides the implementations.
"""
