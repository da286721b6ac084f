"""Encode/decode throughput of protocols.sip2 against pysip2, measured in the same run.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_sip2_codec.py [--number N]``. Prints µs per
operation for both codecs and the ratio (ours / pysip2; < 1 means we are faster). No asserts:
numbers depend on the machine; the ratio is what to compare between runs.
"""

from __future__ import annotations

import argparse
import timeit

import pysip2

from protocols.sip2 import CheckoutRequest, CheckoutResponse, CodecConfig, decode, encode

DATE = "20261125    120000"
CONFIG = CodecConfig(encoding="utf-8")


def samples() -> tuple[CheckoutRequest, CheckoutResponse]:
    request = CheckoutRequest.create(
        sc_renewal_policy="Y",
        transaction_date=DATE,
        nb_due_date=DATE,
        sequence=3,
        AO="CN-440100-ZG",
        AA="440101199001011234",
        AB="39001000123",
        AC="",
        AD="1234",
        BO="N",
        BI="N",
    )
    response = CheckoutResponse.create(
        ok="1",
        magnetic_media="N",
        desensitize="Y",
        transaction_date=DATE,
        sequence=3,
        AO="CN-440100-ZG",
        AA="440101199001011234",
        AB="39001000123",
        AJ="红楼梦（脂砚斋重评石头记）",
        AH="20261225    235900",
        AF=["借书成功，请于12月25日前归还"],
    )
    return request, response


def bench(number: int) -> None:
    request, response = samples()
    rows = []
    for name, msg in (("11 checkout request", request), ("12 checkout response", response)):
        frame = encode(msg, CONFIG)
        theirs = pysip2.decode_message(frame, encoding="utf-8")
        ours_dec = timeit.timeit(lambda f=frame: decode(f, CONFIG), number=number)
        their_dec = timeit.timeit(
            lambda f=frame: pysip2.decode_message(f, encoding="utf-8"), number=number
        )
        ours_enc = timeit.timeit(lambda m=msg: encode(m, CONFIG), number=number)
        their_enc = timeit.timeit(
            lambda t=theirs: pysip2.encode_message(
                t.message, sequence_number=3, checksum=True, encoding="utf-8"
            ),
            number=number,
        )
        rows.append((f"decode {name}", ours_dec, their_dec))
        rows.append((f"encode {name}", ours_enc, their_enc))
    print(f"{'operation':32} {'ours µs':>9} {'pysip2 µs':>10} {'ratio':>7}")
    for label, ours, theirs_t in rows:
        print(
            f"{label:32} {ours / number * 1e6:9.2f} {theirs_t / number * 1e6:10.2f} "
            f"{ours / theirs_t:7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20000, help="operations per measurement")
    bench(parser.parse_args().number)


if __name__ == "__main__":
    main()
