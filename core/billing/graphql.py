"""GraphQL of billing (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
