"""marshmallow schemas: the potential service's RPC and HTTP contract (the gateway imports these).

Inputs are loaded at the gateway and again in the service; outputs are produced with `dump`, so
the wire shape is written once. Public outputs are separate schemas that simply have no field
for a NIK or an owner's money: what is not declared is not dumped.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from services.common.fields import Choice, PartialUpdate, RtRw, district_code, nik, text
from services.common.pagination import PageArgs, page_schema
from services.potential import domain

MAX_MONEY = 10**15  # far above any village business, far below BIGINT
YEAR = validate.Range(min=1900, max=2100)
NIB = validate.Regexp(r"^\d{13}$", error="An NIB is 13 digits.")
KBLI = validate.Regexp(r"^\d{5}$", error="A KBLI code is 5 digits.")


class NoNul:
    """Mixin: refuse a NUL character anywhere in the input (PostgreSQL cannot store it)."""

    @pre_load
    def refuse_nul(self, data, **kwargs):
        def has_nul(value) -> bool:
            if isinstance(value, str):
                return "\x00" in value
            if isinstance(value, dict):
                return any(has_nul(v) or has_nul(k) for k, v in value.items())
            if isinstance(value, list):
                return any(has_nul(v) for v in value)
            return False

        if isinstance(data, dict):
            bad = {str(k): ["Must not contain a NUL character."] for k, v in data.items()
                   if has_nul(v) or has_nul(k)}
            if bad:
                raise ValidationError(bad)
        return data


def money(**kwargs) -> fields.Integer:
    """Whole rupiah, zero or more, strictly an integer (a float or "100" is refused)."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_MONEY), **kwargs)


def count(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000), **kwargs)


def latitude(**kwargs) -> fields.Float:
    return fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90), **kwargs)


def longitude(**kwargs) -> fields.Float:
    return fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180), **kwargs)


# -- businesses ------------------------------------------------------------------------------

class Product(Schema):
    name = text(200, required=True)
    price = money(load_default=None, allow_none=True)


class BusinessAddress(Schema):
    dusun = text(100)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)


class BusinessFields(NoNul, Schema):
    owner_nik = fields.String(required=True, validate=nik)
    name = text(200, required=True)
    nib = fields.String(load_default=None, allow_none=True, validate=NIB)
    kbli = fields.String(load_default=None, allow_none=True, validate=KBLI)
    sector = Choice(domain.SECTORS, required=True)
    description = text(2000)
    products = fields.List(fields.Nested(Product), load_default=list,
                           validate=validate.Length(max=50))
    workers = count(load_default=0)
    capital = money(load_default=None, allow_none=True)
    yearly_sales = money(load_default=None, allow_none=True)
    address = fields.Nested(BusinessAddress, load_default=dict)
    latitude = latitude(load_default=None)
    longitude = longitude(load_default=None)
    certifications = fields.List(Choice(domain.CERTIFICATIONS), load_default=list,
                                 validate=validate.Length(max=10))
    status = Choice(domain.BUSINESS_STATUSES, load_default="active")


class BusinessCreate(BusinessFields):
    pass


class BusinessChange(PartialUpdate, BusinessFields):
    """PATCH: the fields given replace the business's; the size class follows."""


class BusinessListArgs(NoNul, PageArgs):
    sector = Choice(domain.SECTORS, load_default=None)
    size_class = Choice(domain.SIZE_CLASSES, load_default=None)
    status = Choice(domain.BUSINESS_STATUSES, load_default=None)
    dusun = fields.String(load_default=None, validate=validate.Length(max=100))
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class Photo(Schema):
    id = fields.String()
    url = fields.String()
    thumbnail_url = fields.String()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    caption = fields.String(allow_none=True)


class PublicBusiness(Schema):
    """A business as anyone may see it: no owner, no NIK, no capital or sales figures."""
    id = fields.String()
    village_code = fields.String()
    name = fields.String()
    nib = fields.String(allow_none=True)
    kbli = fields.String(allow_none=True)
    sector = fields.String()
    description = fields.String(allow_none=True)
    products = fields.List(fields.Nested(Product))
    workers = fields.Integer()
    size_class = fields.String(metadata={"enum": list(domain.SIZE_CLASSES)})
    dusun = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    certifications = fields.List(fields.String())
    photos = fields.List(fields.Nested(Photo))


class Business(PublicBusiness):
    """A business as the village office and the regency see it."""
    owner_nik = fields.String()
    owner_name = fields.String(allow_none=True)
    capital = fields.Integer(allow_none=True)
    yearly_sales = fields.Integer(allow_none=True)
    address = fields.Nested(BusinessAddress)
    status = fields.String()
    location_warnings = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# -- organisations ---------------------------------------------------------------------------

class Officer(Schema):
    nik = fields.String(required=True, validate=nik)
    position = text(100, required=True)


class OrganisationFields(NoNul, Schema):
    type = Choice(domain.ORGANISATION_TYPES, required=True)
    name = text(200, required=True)
    decree_number = text(100)
    decree_date = fields.Date(load_default=None, allow_none=True)
    chair_nik = fields.String(load_default=None, allow_none=True, validate=nik)
    officers = fields.List(fields.Nested(Officer), load_default=list,
                           validate=validate.Length(max=100))
    members_male = count(load_default=0)
    members_female = count(load_default=0)


class OrganisationCreate(OrganisationFields):
    pass


class OrganisationChange(PartialUpdate, OrganisationFields):
    pass


class OrganisationListArgs(NoNul, PageArgs):
    type = Choice(domain.ORGANISATION_TYPES, load_default=None)


class PublicOfficer(Schema):
    name = fields.String(allow_none=True)
    position = fields.String()


class PublicOrganisation(Schema):
    """An organisation as anyone may see it: officers by name and position, no NIK."""
    id = fields.String()
    village_code = fields.String()
    type = fields.String()
    name = fields.String()
    decree_number = fields.String(allow_none=True)
    decree_date = fields.Date(allow_none=True)
    chair_name = fields.String(allow_none=True)
    officers = fields.List(fields.Nested(PublicOfficer))
    members_male = fields.Integer()
    members_female = fields.Integer()


class StaffOfficer(Schema):
    nik = fields.String()
    name = fields.String(allow_none=True)
    position = fields.String()


class Organisation(PublicOrganisation):
    chair_nik = fields.String(allow_none=True)
    officers = fields.List(fields.Nested(StaffOfficer))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# -- tourism sites ---------------------------------------------------------------------------

class TourismSiteFields(NoNul, Schema):
    name = text(200, required=True)
    category = Choice(domain.TOURISM_CATEGORIES, required=True)
    description = text(5000)
    latitude = latitude(load_default=None)
    longitude = longitude(load_default=None)
    facilities = fields.List(text(100, required=True), load_default=list,
                             validate=validate.Length(max=50))
    opening_hours = text(200)
    ticket_price = money(load_default=None, allow_none=True)
    managed_by = text(200)
    development_class = Choice(domain.DEVELOPMENT_CLASSES, required=True)


class TourismSiteCreate(TourismSiteFields):
    pass


class TourismSiteChange(PartialUpdate, TourismSiteFields):
    pass


class TourismSiteListArgs(NoNul, PageArgs):
    category = Choice(domain.TOURISM_CATEGORIES, load_default=None)
    development_class = Choice(domain.DEVELOPMENT_CLASSES, load_default=None)


class TourismSite(Schema):
    """A tourism site (no personal data in it: the same for the public and the office)."""
    id = fields.String()
    village_code = fields.String()
    name = fields.String()
    category = fields.String()
    description = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    facilities = fields.List(fields.String())
    opening_hours = fields.String(allow_none=True)
    ticket_price = fields.Integer(allow_none=True)
    managed_by = fields.String(allow_none=True)
    development_class = fields.String()
    photos = fields.List(fields.Nested(Photo))


class StaffTourismSite(TourismSite):
    location_warnings = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# -- resources -------------------------------------------------------------------------------

class ResourceFields(NoNul, Schema):
    kind = Choice(domain.RESOURCE_KINDS, required=True)
    name = text(200, required=True)
    # A float in the contract (a Decimal bound is a string in the OpenAPI document); the column
    # is NUMERIC(14, 2), so what is stored is rounded to cents.
    quantity = fields.Float(required=True, validate=validate.Range(min=0, max=100_000_000_000))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    year = fields.Integer(required=True, strict=True, validate=YEAR)


class ResourceCreate(ResourceFields):
    pass


class ResourceChange(PartialUpdate, ResourceFields):
    pass


class ResourceListArgs(NoNul, PageArgs):
    kind = Choice(domain.RESOURCE_KINDS, load_default=None)
    year = fields.Integer(load_default=None, validate=YEAR)


class Resource(Schema):
    id = fields.String()
    village_code = fields.String()
    kind = fields.String()
    name = fields.String()
    quantity = fields.Float()
    unit = fields.String()
    year = fields.Integer()
    updated_at = fields.DateTime()


# -- profile, posts, albums ------------------------------------------------------------------

class Boundaries(Schema):
    north = text(200)
    south = text(200)
    east = text(200)
    west = text(200)


class Official(Schema):
    name = text(200, required=True)
    position = text(100, required=True)
    photo_id = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=40))


class ProfileChange(NoNul, PartialUpdate):
    history = text(20000)
    vision = text(5000)
    mission = text(10000)
    area_hectares = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100_000_000))
    boundaries = fields.Nested(Boundaries)
    officials = fields.List(fields.Nested(Official), validate=validate.Length(max=60))
    latitude = latitude()
    longitude = longitude()


class PublicOfficial(Schema):
    name = fields.String()
    position = fields.String()
    photo_url = fields.String(allow_none=True)
    thumbnail_url = fields.String(allow_none=True)


class Profile(Schema):
    village_code = fields.String()
    village_name = fields.String(allow_none=True)
    district_code = fields.String()
    district_name = fields.String(allow_none=True)
    history = fields.String(allow_none=True)
    vision = fields.String(allow_none=True)
    mission = fields.String(allow_none=True)
    area_hectares = fields.Float(allow_none=True)
    boundaries = fields.Nested(Boundaries)
    officials = fields.List(fields.Nested(PublicOfficial))
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    photos = fields.List(fields.Nested(Photo))
    updated_at = fields.DateTime(allow_none=True)


class PostFields(NoNul, Schema):
    kind = Choice(domain.POST_KINDS, load_default="news")
    title = text(200, required=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=50000))
    body_format = Choice(domain.POST_FORMATS, load_default="plain")
    status = Choice(domain.PUBLICATION_STATUSES, load_default="draft")
    published_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                        default_timezone=None)


class PostCreate(PostFields):
    pass


class PostChange(PartialUpdate, PostFields):
    pass


class PostListArgs(NoNul, PageArgs):
    status = Choice(domain.PUBLICATION_STATUSES, load_default=None)
    kind = Choice(domain.POST_KINDS, load_default=None)


class PublicPost(Schema):
    id = fields.String()
    village_code = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    body_format = fields.String()
    body_html = fields.String(metadata={"description": "The body rendered to HTML; raw HTML in "
                                                      "the body is escaped, never passed on."})
    published_at = fields.DateTime(allow_none=True)
    photos = fields.List(fields.Nested(Photo))


class Post(PublicPost):
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class AlbumFields(NoNul, Schema):
    title = text(200, required=True)
    description = text(2000)
    status = Choice(domain.PUBLICATION_STATUSES, load_default="draft")


class AlbumCreate(AlbumFields):
    pass


class AlbumChange(PartialUpdate, AlbumFields):
    pass


class PublicAlbum(Schema):
    id = fields.String()
    village_code = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(Photo))


class Album(PublicAlbum):
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PhotoCaption(NoNul, Schema):
    class Meta:
        unknown = EXCLUDE

    caption = text(300)


# -- follow-ups, search, regency -------------------------------------------------------------

class FollowUpListArgs(NoNul, PageArgs):
    status = Choice(("open", "resolved", "all"), load_default="open")


class FollowUpResolve(NoNul, Schema):
    resolution = text(500, required=True)


class FollowUp(Schema):
    id = fields.String()
    village_code = fields.String()
    subject_kind = fields.String(metadata={"enum": ["business", "organisation"]})
    subject_id = fields.String()
    subject_name = fields.String()
    nik = fields.String()
    person_name = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    reason = fields.String(metadata={"enum": list(domain.FOLLOW_UP_REASONS)})
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


SEARCH_TYPES = ("business", "tourism_site", "organisation")


class SearchArgs(NoNul, PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    type = Choice(SEARCH_TYPES, load_default=None)
    sector = Choice(domain.SECTORS, load_default=None)
    district_code = fields.String(load_default=None, validate=district_code)


class SearchHit(Schema):
    type = fields.String(attribute="kind", metadata={"enum": list(SEARCH_TYPES)})
    id = fields.String(attribute="entity_id")
    village_code = fields.String()
    village_name = fields.String(allow_none=True)
    district_code = fields.String()
    sector = fields.String(allow_none=True)
    name = fields.String()
    summary = fields.String(allow_none=True)


class RegencyArgs(NoNul, Schema):
    by = Choice(("district", "village", "sector", "size_class"), load_default="district")


class RegencyCount(Schema):
    key = fields.String()
    name = fields.String(allow_none=True)
    businesses = fields.Integer()
    tourism_sites = fields.Integer(allow_none=True)
    organisations = fields.Integer(allow_none=True)


BusinessPage = page_schema(Business, "BusinessPage")
PublicBusinessPage = page_schema(PublicBusiness, "PublicBusinessPage")
OrganisationPage = page_schema(Organisation, "OrganisationPage")
PublicOrganisationPage = page_schema(PublicOrganisation, "PublicOrganisationPage")
TourismSitePage = page_schema(StaffTourismSite, "TourismSitePage")
PublicTourismSitePage = page_schema(TourismSite, "PublicTourismSitePage")
ResourcePage = page_schema(Resource, "ResourcePage")
PostPage = page_schema(Post, "PostPage")
PublicPostPage = page_schema(PublicPost, "PublicPostPage")
AlbumPage = page_schema(Album, "AlbumPage")
PublicAlbumPage = page_schema(PublicAlbum, "PublicAlbumPage")
FollowUpPage = page_schema(FollowUp, "FollowUpPage")
SearchPage = page_schema(SearchHit, "SearchPage")
