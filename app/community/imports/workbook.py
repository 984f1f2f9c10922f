"""Reading an uploaded .xlsx safely: the format checked by its first bytes, the size bounded
before and after unzipping, rows streamed from openpyxl's read-only mode and counted."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import IO, Any

from openpyxl import load_workbook

from app.core.errors import InvalidInputError

#: An .xlsx is a zip; an old .xls is an OLE2 compound file.
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
#: A sheet's XML unzips to many times its size; more than this factor is a zip bomb, not a list of people.
_MAX_UNZIPPED_FACTOR = 40


def read_rows(
    stream: IO[bytes], *, max_bytes: int, max_rows: int
) -> tuple[tuple[Any, ...], list[tuple[int, tuple[Any, ...]]]]:
    """The first sheet's header cells and its non-empty data rows with their Excel row numbers.

    Raises InvalidInputError for another format, a corrupt or too large file, or too many rows.
    """
    head = stream.read(4)
    if head == _OLE_MAGIC:
        raise InvalidInputError("不支持 .xls 格式，请在 Excel 中另存为 .xlsx 后再导入", details={"file": "xls"})
    if head != _ZIP_MAGIC:
        raise InvalidInputError("文件不是 Excel（.xlsx）文件", details={"file": "not_xlsx"})
    stream.seek(0, 2)
    if stream.tell() > max_bytes:
        raise InvalidInputError("文件太大", details={"file": "too_large", "max_bytes": max_bytes})
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
        if unzipped > max_bytes * _MAX_UNZIPPED_FACTOR:
            raise InvalidInputError("文件太大", details={"file": "too_large", "max_bytes": max_bytes})
        stream.seek(0)
        return _rows(stream, max_rows)
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError("文件已损坏或不是有效的 .xlsx 文件", details={"file": "corrupt"}) from exc


def _rows(stream: IO[bytes], max_rows: int) -> tuple[tuple[Any, ...], list[tuple[int, tuple[Any, ...]]]]:
    workbook = load_workbook(stream, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        cells: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        header = next(cells, ())
        rows: list[tuple[int, tuple[Any, ...]]] = []
        for number, values in enumerate(cells, start=2):
            if all(value is None or str(value).strip() == "" for value in values):
                continue  # empty rows are skipped
            if len(rows) >= max_rows:
                raise InvalidInputError(
                    f"行数超过上限 {max_rows} 行，请分批导入", details={"file": "too_many_rows", "max_rows": max_rows}
                )
            rows.append((number, values))
        return header, rows
    finally:
        workbook.close()
