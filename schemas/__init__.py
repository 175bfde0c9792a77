"""Marshmallow schemas of the liaison sheets (FDL1, FDL2) and of the API's envelopes."""

from schemas.fields import SheetRules
from schemas.sheets import SHEET_SCHEMAS, SheetInvalid, dump_sheet, load_sheet

__all__ = ["SHEET_SCHEMAS", "SheetInvalid", "SheetRules", "dump_sheet", "load_sheet"]
