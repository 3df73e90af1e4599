"""A province the shipped reference lists do not know (issue 27): the demo generator's cases
moved to province code H50 and seven unit codes of its own, none of them in seeds/units.csv."""

from __future__ import annotations

import zlib
from pathlib import Path

# The seven H50 units of the data: (code, DonViXuLy as the portal sends it, level it should get).
H50_UNITS: tuple[tuple[str, str, str], ...] = (
    ("000.00.00.H50", "UBND tỉnh Hòa Bình Mới", "province"),
    ("000.00.01.H50", "Sở Giáo dục và Đào tạo", "province_department"),
    ("000.00.09.H50", "Sở Y tế", "province_department"),
    ("000.00.16.H50", "Sở Tư pháp", "province_department"),
    ("000.40.01.H50", "UBND Xã Tân Lập", "commune"),
    ("000.40.02.H50", "Phường Bình Minh", "commune"),
    ("000.40.03.H50", "Xã Hòa Bình", "commune"),
)
H50_CODES = tuple(code for code, _, _ in H50_UNITS)


def h50_cases(n_versions: int = 3000, seed: int = 5):
    """Generated cases of the demo province re-coded to H50's seven units (a unit code keeps
    its unit: every version of a case stays with one H50 code)."""
    import polars as pl

    from devtools import demo_data

    df = demo_data.generate_cases(n_versions, seed=seed, invalid_share=0.0)
    # Every H50 code gets cases (crc of the source code spreads them), the province unit too.
    mapping = {source: H50_UNITS[zlib.crc32(source.encode()) % len(H50_UNITS)][:2]
               for source in sorted(df["MaDonVi"].unique().to_list())}
    return df.with_columns(
        pl.col("MaDonVi").replace_strict({k: v[0] for k, v in mapping.items()}),
        pl.col("MaDonVi").replace_strict({k: v[1] for k, v in mapping.items()}).alias("DonViXuLy"),
        pl.col("MaHoSo").str.replace("H48", "H50"),
    )


def write_h50_inbox(inbox: Path, n_versions: int = 3000) -> Path:
    from devtools import demo_data

    inbox.mkdir(parents=True, exist_ok=True)
    return demo_data.write_jsonl(h50_cases(n_versions), inbox / "hoso_h50.jsonl")
