"""The scheduler's clock: the wall clock, or a simulated one that starts and runs as configured."""
import datetime as dt

from schedules import wiring


def test_a_simulated_clock_starts_at_the_configured_china_time_and_runs_faster(monkeypatch):
    monkeypatch.setenv("RECTIFY_CLOCK_START", "2027-01-04T09:00")
    monkeypatch.setenv("RECTIFY_CLOCK_RATE", "3600")
    ticks = iter([100.0, 100.0, 100.05])
    monkeypatch.setattr(wiring.time, "monotonic", lambda: next(ticks))
    clock = wiring.make_clock()
    assert clock() == dt.datetime(2027, 1, 4, 1, 0)  # 09:00 in China is 01:00 UTC
    assert clock() == dt.datetime(2027, 1, 4, 1, 3)  # 0.05 s of wall time is 3 minutes simulated


def test_without_configuration_the_clock_is_the_wall_clock(monkeypatch):
    monkeypatch.delenv("RECTIFY_CLOCK_START", raising=False)
    now = wiring.make_clock()()
    assert abs(now - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(seconds=5)
