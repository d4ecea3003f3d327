"""Assess: where the firm stands, what holds it back, and the one next small step.

A readiness questionnaire in the structure of the EU DMA (six dimensions, 0–100), evidence from
the plant's own data beside the answers, basics-first gates, a catalogue of small steps with
pilot templates, recommendations ranked by measured loss, a skills matrix and a roadmap.
"""

from pilotline.assess.answers import Answers, combine, load_answers, score
from pilotline.assess.evidence import Evidence, gather
from pilotline.assess.questionnaire import DIMENSIONS, questionnaire
from pilotline.assess.recommend import Recommendation, recommend

__all__ = [
    "DIMENSIONS",
    "Answers",
    "Evidence",
    "Recommendation",
    "combine",
    "gather",
    "load_answers",
    "questionnaire",
    "recommend",
    "score",
]
