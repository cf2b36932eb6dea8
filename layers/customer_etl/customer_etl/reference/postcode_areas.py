"""The UK postcode areas: the one- or two-letter prefix of every postcode, with its post town
and nation.

The enrich stage falls back to this table when postcodes.io cannot answer, so a record still
gets a post town and a nation. The table covers the 121 geographic areas of the UK plus the
three Crown Dependencies that share the Royal Mail postcode system (GY, JE, IM).

Left out on purpose, because they name no place: BF (British Forces Post Office), BX
(non-geographic addresses) and the Girobank code GIR 0AA.

Where Royal Mail names an area after a region rather than a town, the table gives the area's
principal post town instead, because the enrichment column is a post town:
DG (Dumfries and Galloway) -> Dumfries, HS (Outer Hebrides) -> Stornoway,
TS (Cleveland) -> Middlesbrough. The eight London areas (E, EC, N, NW, SE, SW, W, WC) all
have the post town London.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

ENGLAND = "England"
SCOTLAND = "Scotland"
WALES = "Wales"
NORTHERN_IRELAND = "Northern Ireland"
CHANNEL_ISLANDS = "Channel Islands"
ISLE_OF_MAN = "Isle of Man"


@dataclass(frozen=True)
class PostcodeArea:
    """The post town an area is named after, and its nation: one of "England", "Scotland",
    "Wales", "Northern Ireland", "Channel Islands", "Isle of Man"."""

    post_town: str
    country: str


def _area(post_town: str, country: str) -> PostcodeArea:
    return PostcodeArea(post_town=post_town, country=country)


# Some areas straddle a national border; each takes the nation of its post town, so a
# record in a border district may carry the neighbouring nation's name:
#   CH Chester (England) also covers Deeside and parts of Flintshire and Wrexham (Wales).
#   HR Hereford (England) also covers Hay-on-Wye and nearby parts of Powys (Wales).
#   SY Shrewsbury (England) also covers much of Powys and Ceredigion (Wales).
#   LD Llandrindod Wells (Wales) also covers a few addresses around Knighton and Presteigne
#      that lie in England.
#   LL Llandudno (Wales) also covers a sliver of Shropshire (England).
#   NP Newport (Wales) also covers a few addresses around Monmouth that lie in England.
#   TD Galashiels (Scotland) also covers Berwick-upon-Tweed and Cornhill-on-Tweed
#      (England).
#   DG Dumfries (Scotland): DG16 crosses into Cumbria (England).
# Precise nations for those districts come from postcodes.io when it is reachable.
_AREAS: dict[str, PostcodeArea] = {
    "AB": _area("Aberdeen", SCOTLAND),
    "AL": _area("St Albans", ENGLAND),
    "B": _area("Birmingham", ENGLAND),
    "BA": _area("Bath", ENGLAND),
    "BB": _area("Blackburn", ENGLAND),
    "BD": _area("Bradford", ENGLAND),
    "BH": _area("Bournemouth", ENGLAND),
    "BL": _area("Bolton", ENGLAND),
    "BN": _area("Brighton", ENGLAND),
    "BR": _area("Bromley", ENGLAND),
    "BS": _area("Bristol", ENGLAND),
    "BT": _area("Belfast", NORTHERN_IRELAND),
    "CA": _area("Carlisle", ENGLAND),
    "CB": _area("Cambridge", ENGLAND),
    "CF": _area("Cardiff", WALES),
    "CH": _area("Chester", ENGLAND),
    "CM": _area("Chelmsford", ENGLAND),
    "CO": _area("Colchester", ENGLAND),
    "CR": _area("Croydon", ENGLAND),
    "CT": _area("Canterbury", ENGLAND),
    "CV": _area("Coventry", ENGLAND),
    "CW": _area("Crewe", ENGLAND),
    "DA": _area("Dartford", ENGLAND),
    "DD": _area("Dundee", SCOTLAND),
    "DE": _area("Derby", ENGLAND),
    "DG": _area("Dumfries", SCOTLAND),
    "DH": _area("Durham", ENGLAND),
    "DL": _area("Darlington", ENGLAND),
    "DN": _area("Doncaster", ENGLAND),
    "DT": _area("Dorchester", ENGLAND),
    "DY": _area("Dudley", ENGLAND),
    "E": _area("London", ENGLAND),
    "EC": _area("London", ENGLAND),
    "EH": _area("Edinburgh", SCOTLAND),
    "EN": _area("Enfield", ENGLAND),
    "EX": _area("Exeter", ENGLAND),
    "FK": _area("Falkirk", SCOTLAND),
    "FY": _area("Blackpool", ENGLAND),
    "G": _area("Glasgow", SCOTLAND),
    "GL": _area("Gloucester", ENGLAND),
    "GU": _area("Guildford", ENGLAND),
    "GY": _area("Guernsey", CHANNEL_ISLANDS),
    "HA": _area("Harrow", ENGLAND),
    "HD": _area("Huddersfield", ENGLAND),
    "HG": _area("Harrogate", ENGLAND),
    "HP": _area("Hemel Hempstead", ENGLAND),
    "HR": _area("Hereford", ENGLAND),
    "HS": _area("Stornoway", SCOTLAND),
    "HU": _area("Hull", ENGLAND),
    "HX": _area("Halifax", ENGLAND),
    "IG": _area("Ilford", ENGLAND),
    "IM": _area("Isle of Man", ISLE_OF_MAN),
    "IP": _area("Ipswich", ENGLAND),
    "IV": _area("Inverness", SCOTLAND),
    "JE": _area("Jersey", CHANNEL_ISLANDS),
    "KA": _area("Kilmarnock", SCOTLAND),
    "KT": _area("Kingston upon Thames", ENGLAND),
    "KW": _area("Kirkwall", SCOTLAND),
    "KY": _area("Kirkcaldy", SCOTLAND),
    "L": _area("Liverpool", ENGLAND),
    "LA": _area("Lancaster", ENGLAND),
    "LD": _area("Llandrindod Wells", WALES),
    "LE": _area("Leicester", ENGLAND),
    "LL": _area("Llandudno", WALES),
    "LN": _area("Lincoln", ENGLAND),
    "LS": _area("Leeds", ENGLAND),
    "LU": _area("Luton", ENGLAND),
    "M": _area("Manchester", ENGLAND),
    "ME": _area("Rochester", ENGLAND),
    "MK": _area("Milton Keynes", ENGLAND),
    "ML": _area("Motherwell", SCOTLAND),
    "N": _area("London", ENGLAND),
    "NE": _area("Newcastle upon Tyne", ENGLAND),
    "NG": _area("Nottingham", ENGLAND),
    "NN": _area("Northampton", ENGLAND),
    "NP": _area("Newport", WALES),
    "NR": _area("Norwich", ENGLAND),
    "NW": _area("London", ENGLAND),
    "OL": _area("Oldham", ENGLAND),
    "OX": _area("Oxford", ENGLAND),
    "PA": _area("Paisley", SCOTLAND),
    "PE": _area("Peterborough", ENGLAND),
    "PH": _area("Perth", SCOTLAND),
    "PL": _area("Plymouth", ENGLAND),
    "PO": _area("Portsmouth", ENGLAND),
    "PR": _area("Preston", ENGLAND),
    "RG": _area("Reading", ENGLAND),
    "RH": _area("Redhill", ENGLAND),
    "RM": _area("Romford", ENGLAND),
    "S": _area("Sheffield", ENGLAND),
    "SA": _area("Swansea", WALES),
    "SE": _area("London", ENGLAND),
    "SG": _area("Stevenage", ENGLAND),
    "SK": _area("Stockport", ENGLAND),
    "SL": _area("Slough", ENGLAND),
    "SM": _area("Sutton", ENGLAND),
    "SN": _area("Swindon", ENGLAND),
    "SO": _area("Southampton", ENGLAND),
    "SP": _area("Salisbury", ENGLAND),
    "SR": _area("Sunderland", ENGLAND),
    "SS": _area("Southend-on-Sea", ENGLAND),
    "ST": _area("Stoke-on-Trent", ENGLAND),
    "SW": _area("London", ENGLAND),
    "SY": _area("Shrewsbury", ENGLAND),
    "TA": _area("Taunton", ENGLAND),
    "TD": _area("Galashiels", SCOTLAND),
    "TF": _area("Telford", ENGLAND),
    "TN": _area("Tonbridge", ENGLAND),
    "TQ": _area("Torquay", ENGLAND),
    "TR": _area("Truro", ENGLAND),
    "TS": _area("Middlesbrough", ENGLAND),
    "TW": _area("Twickenham", ENGLAND),
    "UB": _area("Southall", ENGLAND),
    "W": _area("London", ENGLAND),
    "WA": _area("Warrington", ENGLAND),
    "WC": _area("London", ENGLAND),
    "WD": _area("Watford", ENGLAND),
    "WF": _area("Wakefield", ENGLAND),
    "WN": _area("Wigan", ENGLAND),
    "WR": _area("Worcester", ENGLAND),
    "WS": _area("Walsall", ENGLAND),
    "WV": _area("Wolverhampton", ENGLAND),
    "YO": _area("York", ENGLAND),
    "ZE": _area("Lerwick", SCOTLAND),
}

#: Every postcode area, keyed by its code (e.g. "SW", "B"). Read-only, so no caller can
#: change the reference data for the rest of the process.
POSTCODE_AREAS: Mapping[str, PostcodeArea] = MappingProxyType(_AREAS)

# Only ASCII letters: a postcode area is never anything else, and `str.isalpha` would also
# accept letters such as "É".
_LEADING_LETTERS = re.compile(r"\s*([A-Za-z]+)")


def area_of(postcode: str | None) -> str | None:
    """The leading letters of a postcode, upper-cased: "sw1a 1aa" -> "SW", "B33 8TH" -> "B".

    The postcode need not be normalised; leading spaces are ignored. All the leading letters
    are returned, even more than two, so a malformed value such as "ABCDEFG" is not mistaken
    for the area "AB". None when the value does not start with a letter, or is missing (a
    record with no postcode, where the rules make it optional).
    """
    if not isinstance(postcode, str):
        return None
    match = _LEADING_LETTERS.match(postcode)
    if match is None:
        return None
    return match.group(1).upper()
