"""GraphQL of home (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
