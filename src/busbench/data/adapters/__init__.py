"""Dataset adapters: each reads one public BUS dataset in the layout its authors distribute."""

from busbench.data.adapters import bus_uc, bus_uclm, busbra, busi, folder, synthetic, udiat  # noqa: F401  (registration)
from busbench.data.adapters.base import ADAPTERS, CaseSource, DatasetAdapter, build_adapter, register_adapter

__all__ = ["ADAPTERS", "CaseSource", "DatasetAdapter", "build_adapter", "register_adapter"]
