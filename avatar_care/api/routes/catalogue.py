"""The brand's catalogue: products an operator can show (an image or a 3D model, with a link)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, CurrentOperator, SessionDep
from rooms.catalogue import ItemSpec, add_item, brand_items, remove_item, update_item
from rooms.models import CatalogueItem

router = APIRouter(prefix="/api/catalogue", tags=["catalogue"])


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(image|model)$")
    media_url: str = Field(min_length=1, max_length=500)
    link: str = Field(min_length=1, max_length=500)
    price: str = Field(default="", max_length=40)


class ItemOut(ItemIn):
    id: str


def out(i: CatalogueItem) -> ItemOut:
    return ItemOut(id=i.id, name=i.name, kind=i.kind, media_url=i.media_url, link=i.link, price=i.price)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ItemOut)
def add(body: ItemIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> ItemOut:
    return out(add_item(db, brand, ItemSpec(**body.model_dump()), actor))


@router.get("", response_model=list[ItemOut])
def for_admin(brand: CurrentBrandAdmin, db: SessionDep) -> list[ItemOut]:
    return [out(i) for i in brand_items(db, brand.id)]


@router.get("/for-operator", response_model=list[ItemOut])
def for_operator(operator: CurrentOperator, db: SessionDep) -> list[ItemOut]:
    return [out(i) for i in brand_items(db, operator.brand_id)]


@router.put("/{item_id}", response_model=ItemOut)
def update(
    item_id: str, body: ItemIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor
) -> ItemOut:
    return out(update_item(db, brand, item_id, ItemSpec(**body.model_dump()), actor))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove(item_id: str, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> Response:
    remove_item(db, brand, item_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
