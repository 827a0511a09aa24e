"""Hourly on-demand prices (USD, Linux, us-east-1, 2026) of the instance types the source designs used and
their neighbours. Any valid EC2 type can be launched; one missing here gets no estimate. Spot prices
move with the market (typically 50-70% below on-demand), so the estimate gives the on-demand ceiling."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstancePrice:
    usd_per_hour: float
    vcpus: int
    gpus: str  # what the GPU is, "" for none


PRICES: dict[str, InstancePrice] = {
    "g4dn.xlarge": InstancePrice(0.526, 4, "1x T4 16 GB"),  # the source designs' training machine
    "g4dn.2xlarge": InstancePrice(0.752, 8, "1x T4 16 GB"),
    "g4dn.12xlarge": InstancePrice(3.912, 48, "4x T4 16 GB"),
    "g5.xlarge": InstancePrice(1.006, 4, "1x A10G 24 GB"),
    "g5.2xlarge": InstancePrice(1.212, 8, "1x A10G 24 GB"),
    "g6.xlarge": InstancePrice(0.805, 4, "1x L4 24 GB"),
    "p3.2xlarge": InstancePrice(3.060, 8, "1x V100 16 GB"),
    "c5.4xlarge": InstancePrice(0.680, 16, ""),
    "c5.24xlarge": InstancePrice(4.080, 96, ""),  # the source designs' feature-extraction machine
    "m5.xlarge": InstancePrice(0.192, 4, ""),
}


def estimate(instance_type: str, workers: int, hours: float) -> str:
    """One line for the launch summary: the ceiling cost if every instance lives `hours`."""
    price = PRICES.get(instance_type)
    if price is None:
        return f"{instance_type}: not in the price table, no estimate (see `emotion cloud cost`)"
    total = price.usd_per_hour * workers * hours
    return (
        f"{workers} x {instance_type} at ${price.usd_per_hour:.3f}/h on demand: at most ${total:.2f} "
        f"if they run the full {hours:g} h lifetime (spot: usually well below)"
    )


def table() -> str:
    rows = [f"{'type':<15} {'$/hour':>8} {'vCPUs':>6}  GPU"]
    rows += [f"{name:<15} {p.usd_per_hour:>8.3f} {p.vcpus:>6}  {p.gpus or '-'}" for name, p in PRICES.items()]
    return "\n".join(rows)
