"""GraphQL of news (being built)."""

from core.contributions import GraphQLContribution

contribution = GraphQLContribution()
