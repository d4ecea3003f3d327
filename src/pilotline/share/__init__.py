"""Share: Asset Administration Shells for partners, per-partner grants and a record of every read.

The pipeline, one module each: :mod:`~pilotline.share.model` builds the shells and submodels from
the plant model and the store (ids in :mod:`~pilotline.share.semantics`, options in
:mod:`~pilotline.share.settings`); :mod:`~pilotline.share.rules` parses and evaluates IDTA-01004
access rules; :mod:`~pilotline.share.partners` keeps partners, keys and grants (as rules);
:mod:`~pilotline.share.repository` cuts the JSON to a partner's grants;
:mod:`~pilotline.share.readlog` is the hash-chained record of reads;
:mod:`~pilotline.share.files` reads and writes AASX and pulls from partners;
:mod:`~pilotline.share.tokens` issues OAuth client-credentials tokens; and
:mod:`~pilotline.share.service` holds what a running server keeps between requests.
"""

from pilotline.share.model import Catalogue, build_catalogue
from pilotline.share.partners import Grant, Partner, Partners
from pilotline.share.readlog import ChainBroken, ReadLog, verify
from pilotline.share.rules import RuleError, Subject, Target, decide, parse_rules
from pilotline.share.service import Service

__all__ = [
    "Catalogue",
    "ChainBroken",
    "Grant",
    "Partner",
    "Partners",
    "ReadLog",
    "RuleError",
    "Service",
    "Subject",
    "Target",
    "build_catalogue",
    "decide",
    "parse_rules",
    "verify",
]
