"""Garbage collection by inventory reconciliation (issue 3's "parts of aborted or completed
uploads are garbage-collected", and the start of issue 4's GC):

- chunks of overwritten and deleted objects disappear from every disk;
- chunks of an aborted multipart upload, and of a part uploaded but left out of the completed
  object, disappear;
- chunks still referenced (live objects, and a copy that shares its source's chunks after the
  source is deleted) stay, and the objects read back byte for byte.
"""

from __future__ import annotations

import time

from checks import chunk_files, figure, new_chunks
from procs import wait_until
from s3util import random_bytes

MiB = 1024 * 1024
GRACE_MS = 1500
INVENTORY_MS = 300


def gone(cluster, ids: set[str]) -> bool:
    return not (set(chunk_files(cluster)) & ids)


def test_unreferenced_chunks_are_collected(fresh_cluster):
    c = fresh_cluster(
        chunk_size=MiB,
        extra_args=["--gc-grace-ms", str(GRACE_MS), "--inventory-ms", str(INVENTORY_MS)],
    )
    s3 = c.s3()
    s3.create_bucket(Bucket="gcb")

    before = chunk_files(c)
    keep = random_bytes(3 * MiB + 5)
    s3.put_object(Bucket="gcb", Key="keep", Body=keep)
    keep_chunks = set(new_chunks(before, chunk_files(c)))
    assert len(keep_chunks) == 4

    # Overwritten, then deleted: both versions' chunks must go.
    before = chunk_files(c)
    s3.put_object(Bucket="gcb", Key="doomed", Body=random_bytes(2 * MiB))
    v1 = set(new_chunks(before, chunk_files(c)))
    before = chunk_files(c)
    s3.put_object(Bucket="gcb", Key="doomed", Body=random_bytes(2 * MiB))
    v2 = set(new_chunks(before, chunk_files(c)))
    assert v1 and v2 and not (v1 & v2)

    # A copy shares its source's chunks; deleting the source must not collect them.
    before = chunk_files(c)
    s3.put_object(Bucket="gcb", Key="src", Body=keep[: 2 * MiB])
    src_chunks = set(new_chunks(before, chunk_files(c)))
    s3.copy_object(Bucket="gcb", Key="copy", CopySource={"Bucket": "gcb", "Key": "src"})
    s3.delete_object(Bucket="gcb", Key="src")

    # Multipart: part 2 is uploaded but left out of the completed object; another upload is aborted.
    before = chunk_files(c)
    up = s3.create_multipart_upload(Bucket="gcb", Key="mpu")["UploadId"]
    p1 = s3.upload_part(Bucket="gcb", Key="mpu", UploadId=up, PartNumber=1, Body=random_bytes(5 * MiB))
    s3.upload_part(Bucket="gcb", Key="mpu", UploadId=up, PartNumber=2, Body=random_bytes(MiB))
    p3 = s3.upload_part(Bucket="gcb", Key="mpu", UploadId=up, PartNumber=3, Body=b"tail")
    all_parts = set(new_chunks(before, chunk_files(c)))
    s3.complete_multipart_upload(
        Bucket="gcb",
        Key="mpu",
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 3, "ETag": p3["ETag"]}]},
    )
    before = chunk_files(c)
    ab = s3.create_multipart_upload(Bucket="gcb", Key="aborted")["UploadId"]
    s3.upload_part(Bucket="gcb", Key="aborted", UploadId=ab, PartNumber=1, Body=random_bytes(MiB))
    aborted = set(new_chunks(before, chunk_files(c)))
    s3.abort_multipart_upload(Bucket="gcb", Key="aborted", UploadId=ab)

    s3.delete_object(Bucket="gcb", Key="doomed")
    t0 = time.monotonic()
    garbage = v1 | v2 | aborted
    wait_until(lambda: gone(c, garbage), 60, "unreferenced chunks to be collected")
    figure("test_gc", "collection time after delete (s)", round(time.monotonic() - t0, 2))
    mpu_obj = s3.head_object(Bucket="gcb", Key="mpu")
    assert mpu_obj["ContentLength"] == 5 * MiB + 4
    # Exactly one part's chunk (part 2, 1 MiB) is unreferenced among the multipart chunks.
    wait_until(lambda: len(all_parts - set(chunk_files(c))) == 1, 60, "the unused part's chunk to be collected")

    # Still referenced: nothing of it was collected, and it reads back.
    time.sleep(GRACE_MS / 1000 + 4 * INVENTORY_MS / 1000)  # several more GC rounds, on purpose
    held = chunk_files(c)
    for ids in (keep_chunks, src_chunks):
        for cid in ids:
            assert len(held.get(cid, [])) == 3, f"referenced chunk {cid} lost replicas: {held.get(cid)}"
    assert s3.get_object(Bucket="gcb", Key="keep")["Body"].read() == keep
    assert s3.get_object(Bucket="gcb", Key="copy")["Body"].read() == keep[: 2 * MiB]
    assert len(s3.get_object(Bucket="gcb", Key="mpu")["Body"].read()) == 5 * MiB + 4
