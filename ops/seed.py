"""The demo city (filled by the units work)."""


def seed_demo_city(settings):
    return []
