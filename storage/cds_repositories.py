"""The CDS Hooks service's tables: the EHR token ids accepted, and the cards answered."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.unit_of_work import Cards, TokenIds

from .repositories import _Repository
from .tables import cds_cards, jwt_ids


class SqlTokenIds(_Repository, TokenIds):
    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        c = jwt_ids.c
        self._execute(jwt_ids.delete().where(c.expires_at < now))
        if self._execute(sa.select(c.jti).where(c.issuer == issuer, c.jti == jti)).first() is not None:
            return False
        with self._uow.translated(conflict=True):  # a concurrent claim of the same id: WriteConflict
            self._uow.connection().execute(jwt_ids.insert(), {"issuer": issuer, "jti": jti, "expires_at": expires_at})
        return True


class SqlCards(_Repository, Cards):
    def add(self, uuid: str, evaluation_id: str, policy_id: str, created_at: datetime) -> None:
        self._execute(cds_cards.insert(), {"uuid": uuid, "evaluation_id": evaluation_id, "policy_id": policy_id,
                                           "created_at": created_at})

    def get(self, uuid: str) -> tuple[str, str] | None:
        c = cds_cards.c
        row = self._execute(sa.select(c.evaluation_id, c.policy_id).where(c.uuid == uuid)).first()
        return None if row is None else (row.evaluation_id, row.policy_id)
