"""Benchmark: catalogue import of N distinct MARC records, beside two baselines on the same file.

Generates N (default 100,000) distinct synthetic records with Chinese titles — half CNMARC
(ISBN-10 in 010, CLC in 690, 905 holdings), half MARC21 (ISBN-13 in 020, CLC in 084) — into
one UTF-8 ISO 2709 file, then times in the same run:

1. pymarc's bare parse of the file (``MARCReader``, UTF-8): the floor of reading MARC in Python;
2. our whole import on a fresh SQLite store (``Catalogue.import_records``: parse, detect
   charset and flavour, access points, match keys, dedup against store and batch, CJK tokens,
   FTS5 index, store) — the same path as ``ils-bridge catalogue import``;
3. Zebra's ``zebraidx`` indexing the same file (what Koha indexes with), if installed
   (``apt-get install idzebra-2.0``), with a minimal ``zebra.cfg`` (``grs.marc.usmarc``).

Prints records/s and both ratios. Target: our import faster than ``zebraidx``.

    .venv/bin/python bench/bench_catalogue_import.py [--records 100000] [--keep DIR]
        [--workers N] [--no-zebra]

The machine is usually shared: compare the ratios of one run, and repeat.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# ------------------------------------------------------------------------------ generator

_WORDS_TEXT = (
    "中国 发展 报告 经济 历史 文化 社会 研究 理论 实践 教育 科学 技术 文学 艺术 哲学 政治 法律 管理 "
    "信息 网络 计算机 程序 设计 数据 分析 城市 乡村 农业 工业 环境 生态 能源 医学 健康 心理 语言 "
    "翻译 诗歌 小说 散文 故事 儿童 青年 教师 学生 图书馆 档案 出版 传播 新闻 媒体 旅游 地理 山水 "
    "江南 北京 上海 浙江 嘉兴 长江 黄河 丝绸 茶叶 陶瓷 建筑 园林 书法 绘画 音乐 戏曲 电影 体育 "
    "军事 外交 人口 改革 开放 创新 创业 市场 金融 货币 银行 会计 统计 数学 物理 化学 生物 天文 "
    "地质 海洋 气候 水利 交通 铁路 航空 机械 电子 通信 材料 能量 系统 方法 原理 基础 概论 导论 "
    "手册 指南 词典 百科 全书 选集 文集 年鉴 通史 简史 新编 实用 现代 古代 当代 近代 世界 亚洲 "
    "欧洲 美国 日本 红楼 西游 三国 水浒 唐诗 宋词 元曲 明清 民国 乡土 人民 家庭 生活 美食 养生"
)
_WORDS = _WORDS_TEXT.split()
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞宇浩然子涵欣怡思远志国建平晓东雪梅海燕文博嘉怡俊杰"
_PUBLISHERS_TEXT = (
    "人民出版社 人民文学出版社 商务印书馆 中华书局 科学出版社 高等教育出版社 清华大学出版社 "
    "北京大学出版社 浙江人民出版社 浙江大学出版社 上海古籍出版社 生活·读书·新知三联书店 "
    "机械工业出版社 电子工业出版社 中国统计出版社 作家出版社"
)
_PUBLISHERS = _PUBLISHERS_TEXT.split()
_CLC_TEXT = (
    "A81 B22 C91 D61 F12 F27 G25 G64 H31 I24 I26 J21 K20 K92 N49 O13 P7 Q94 R2 S5 TP3 TU2 U4 X1"
)
_CLC = _CLC_TEXT.split()


def _isbn13(n: int) -> tuple[str, str]:
    """(ISBN-10, ISBN-13) of the n-th Chinese ISBN 7-xxxxxxxx."""
    body = f"7{n % 10**8:08d}"
    s10 = sum((10 - i) * int(d) for i, d in enumerate(body))
    c10 = (11 - s10 % 11) % 11
    isbn10 = body + ("X" if c10 == 10 else str(c10))
    b13 = "978" + body
    s13 = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(b13))
    return isbn10, b13 + str((10 - s13 % 10) % 10)


def _iso2709(leader: str, fields: list[tuple[str, str | None, list[tuple[str, str]]]]) -> bytes:
    directory = bytearray()
    data = bytearray()
    for tag, inds, subs in fields:
        if inds is None:  # control field
            body = subs[0][1].encode("utf-8") + b"\x1e"
        else:
            body = (
                inds.encode("ascii")
                + b"".join(b"\x1f" + c.encode("ascii") + v.encode("utf-8") for c, v in subs)
                + b"\x1e"
            )
        directory += f"{tag}{len(body):04d}{len(data):05d}".encode("ascii")
        data += body
    base = 24 + len(directory) + 1
    total = base + len(data) + 1
    lead = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}"
    return lead.encode("ascii") + bytes(directory) + b"\x1e" + bytes(data) + b"\x1d"


def record(i: int, rng: random.Random) -> bytes:
    """The i-th synthetic record: distinct ISBN and title; even i CNMARC, odd i MARC21."""
    words = rng.sample(_WORDS, 3)
    title = f"{words[0]}{words[1]}{words[2]}" + (f"第{i % 97 + 1}卷" if i % 3 == 0 else "")
    author = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + (rng.choice(_GIVEN) if i % 2 else "")
    publisher = rng.choice(_PUBLISHERS)
    year = 1980 + i % 45
    clc = rng.choice(_CLC) + f".{i % 89}"
    isbn10, isbn13 = _isbn13(i)
    if i % 2 == 0:
        return _iso2709(
            "00000nam0 2200000   450 ",
            [
                ("001", None, [("", f"CNB{i:09d}")]),
                (
                    "010",
                    "  ",
                    [
                        ("a", f"{isbn10[:1]}-{isbn10[1:5]}-{isbn10[5:9]}-{isbn10[9]}"),
                        ("d", f"CNY{20 + i % 80}.00"),
                    ],
                ),
                ("100", "  ", [("a", f"20240101d{year}    em y0chiy50      ea")]),
                ("101", "0 ", [("a", "chi")]),
                ("200", "1 ", [("a", title), ("f", f"{author}著")]),
                ("210", "  ", [("a", "北京"), ("c", publisher), ("d", str(year))]),
                ("215", "  ", [("a", f"{100 + i % 400}页"), ("d", "21cm")]),
                ("606", "0 ", [("a", words[0]), ("x", "研究")]),
                ("690", "  ", [("a", clc), ("v", "5")]),
                ("701", " 0", [("a", author), ("4", "著")]),
                ("905", "  ", [("a", "CEN"), ("d", clc), ("e", str(i % 500))]),
            ],
        )
    return _iso2709(
        "00000cam a2200000 a 4500",
        [
            ("001", None, [("", f"M21{i:09d}")]),
            ("008", None, [("", f"240101s{year}    cc a          000 0 chi d")]),
            ("020", "  ", [("a", isbn13), ("c", f"CNY{20 + i % 80}.00")]),
            ("084", "  ", [("a", clc), ("2", "clc")]),
            ("100", "1 ", [("a", author)]),
            ("245", "10", [("a", title + " /"), ("c", f"{author}著.")]),
            ("264", " 1", [("a", "北京 :"), ("b", publisher + ","), ("c", f"{year}.")]),
            ("300", "  ", [("a", f"{100 + i % 400}页 ;"), ("c", "21cm")]),
            ("650", " 7", [("a", words[0]), ("x", "研究")]),
        ],
    )


def records(n: int, seed: int = 20261125) -> Iterator[bytes]:
    rng = random.Random(seed)
    for i in range(n):
        yield record(i, rng)


def write_file(path: Path, n: int) -> int:
    size = 0
    with path.open("wb") as fh:
        for rec in records(n):
            fh.write(rec)
            size += len(rec)
    return size


# ------------------------------------------------------------------------------ timings


def time_pymarc(path: Path) -> tuple[float, int]:
    import pymarc

    t0 = time.perf_counter()
    n = 0
    with path.open("rb") as fh:
        for rec in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if rec is not None:
                n += 1
    return time.perf_counter() - t0, n


def time_ours(path: Path, workdir: Path, workers: int | None = None) -> tuple[float, object]:
    from ils_bridge.catalogue.store import Catalogue
    from ils_bridge.store import migrate
    from ils_bridge.store.engine import open_store

    db = workdir / "bench.sqlite3"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    migrate.upgrade(store)
    cat = Catalogue(store)
    t0 = time.perf_counter()
    summary = cat.import_records([path], workers=workers)
    elapsed = time.perf_counter() - t0
    store.dispose()
    return elapsed, summary


ZEBRA_CFG = """\
profilePath: {tab}
modulePath: {modules}
recordType: grs.marc.usmarc
attset: bib1.att
register: {reg}:4G
shadow: {shadow}:1G
"""


def time_zebra(path: Path, workdir: Path) -> float | None:
    zebraidx = shutil.which("zebraidx")
    if zebraidx is None:
        return None
    tab = Path("/usr/share/idzebra-2.0/tab")
    modules = next(Path("/usr/lib").glob("*/idzebra-2.0/modules"), None) or Path(
        "/usr/lib/idzebra-2.0/modules"
    )
    zdir = workdir / "zebra"
    shutil.rmtree(zdir, ignore_errors=True)
    (zdir / "reg").mkdir(parents=True)
    (zdir / "shadow").mkdir()
    (zdir / "zebra.cfg").write_text(
        ZEBRA_CFG.format(tab=tab, modules=modules, reg=zdir / "reg", shadow=zdir / "shadow")
    )
    subprocess.run([zebraidx, "-c", "zebra.cfg", "-l", "/dev/null", "init"], cwd=zdir, check=True)
    t0 = time.perf_counter()
    subprocess.run(
        [zebraidx, "-c", "zebra.cfg", "-l", "/dev/null", "update", str(path)],
        cwd=zdir,
        check=True,
    )
    subprocess.run([zebraidx, "-c", "zebra.cfg", "-l", "/dev/null", "commit"], cwd=zdir, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="Write the MARC file (and databases) here.")
    ap.add_argument("--no-zebra", action="store_true")
    ap.add_argument(
        "--workers", type=int, help="Worker processes for our import (default: its own choice)."
    )
    args = ap.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"synthetic-{args.records}.mrc"
    t0 = time.perf_counter()
    size = write_file(path, args.records)
    print(
        f"generated {args.records:,} records ({size / 1e6:.1f} MB, {size // args.records} B/record)"
        f" in {time.perf_counter() - t0:.1f} s: {path}"
    )
    n = args.records
    t_pymarc, parsed = time_pymarc(path)
    assert parsed == n, parsed
    print(f"pymarc bare parse     {t_pymarc:7.2f} s  {n / t_pymarc:9,.0f} records/s")
    t_ours, summary = time_ours(path, workdir, args.workers)
    print(f"ils-bridge import     {t_ours:7.2f} s  {n / t_ours:9,.0f} records/s  ({summary})"[:200])
    t_zebra = None if args.no_zebra else time_zebra(path, workdir)
    if t_zebra is None:
        print("zebraidx              (not installed: apt-get install idzebra-2.0)")
    else:
        print(f"zebraidx update+commit{t_zebra:7.2f} s  {n / t_zebra:9,.0f} records/s")
    print(f"ratio ours / pymarc parse: {t_ours / t_pymarc:.2f}x")
    if t_zebra is not None:
        verdict = "faster" if t_ours < t_zebra else "SLOWER"
        print(f"ratio ours / zebraidx:     {t_ours / t_zebra:.2f}x ({verdict} than zebraidx)")
    if args.keep is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
