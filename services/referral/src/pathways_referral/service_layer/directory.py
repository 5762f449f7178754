"""The live agency directory (the database table, seeded from the package's sample file on first use),
and adding or replacing an agency."""

from __future__ import annotations

from pathways_referral.domain.directory import Directory, Organization, load_directory
from pathways_referral.service_layer.commands import AddAgency, PutAgency
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_runtime.errors import Conflict, InvalidCommand


async def directory_of(uow: ReferralUnitOfWork) -> Directory:
    """The directory as the unit of work sees it (inside an open unit)."""
    organizations = await uow.agencies.all()
    if not organizations:
        await seed_directory(uow)
        organizations = await uow.agencies.all()
    return Directory(version="live", organizations=organizations)


async def seed_directory(uow: ReferralUnitOfWork) -> None:
    # Only ever inserts: an agency edited over the API is never overwritten by the sample file.
    for org in load_directory().organizations:
        await uow.agencies.add(org.id, org.kind.value, org.model_dump(mode="json"))


async def handle_add_agency(cmd: AddAgency, uow: ReferralUnitOfWork) -> Organization:
    async with uow:
        await directory_of(uow)  # seed first, so the sample file never overwrites this one
        agency = cmd.agency
        if not await uow.agencies.add(agency.id, agency.kind.value, agency.model_dump(mode="json")):
            raise Conflict(f"agency {agency.id} exists: PUT /agencies/{agency.id} to change it")
        await uow.commit()
    return agency


async def handle_put_agency(cmd: PutAgency, uow: ReferralUnitOfWork) -> Organization:
    if cmd.agency.id != cmd.agency_id:
        raise InvalidCommand.field("id", "the body's id must match the path")
    async with uow:
        await directory_of(uow)
        await uow.agencies.put(cmd.agency.id, cmd.agency.kind.value, cmd.agency.model_dump(mode="json"))
        await uow.commit()
    return cmd.agency


async def list_agencies(uow: ReferralUnitOfWork) -> list[Organization]:
    async with uow:
        directory = await directory_of(uow)
        await uow.commit()  # keeps the seed, when this read was the first use
    return directory.organizations
