#!/usr/bin/env python3
"""Extracts the response schemas of the routes the fake Discord serves (plus every
component they reference, transitively) from Discord's OpenAPI description.

Usage: extract_openapi_subset.py /path/to/openapi.json > discord-openapi-subset.json
Source: https://github.com/discord/discord-api-spec (MIT, see LICENSE.discord-api-spec).
"""
import json
import sys

ROUTES = {
    "GET /guilds/{guild_id}": "/guilds/{guild_id}",
    "GET /guilds/{guild_id}/roles": "/guilds/{guild_id}/roles",
    "GET /guilds/{guild_id}/channels": "/guilds/{guild_id}/channels",
    "GET /guilds/{guild_id}/threads/active": "/guilds/{guild_id}/threads/active",
    "GET /channels/{channel_id}": "/channels/{channel_id}",
    "GET /channels/{channel_id}/messages": "/channels/{channel_id}/messages",
    "GET /channels/{channel_id}/messages/{message_id}": "/channels/{channel_id}/messages/{message_id}",
    "GET /channels/{channel_id}/threads/archived/public": "/channels/{channel_id}/threads/archived/public",
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}": "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
    "GET /users/@me": "/users/@me",
    "GET /gateway/bot": "/gateway/bot",
}

doc = json.load(open(sys.argv[1]))
schemas = doc["components"]["schemas"]
out = {"info": doc["info"], "routes": {}, "errors": {}, "components": {"schemas": {}}}
todo = []


def collect(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            todo.append(ref.rsplit("/", 1)[1])
        for v in node.values():
            collect(v)
    elif isinstance(node, list):
        for v in node:
            collect(v)


for name, path in ROUTES.items():
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    out["routes"][name] = schema
    collect(schema)
for name in ["ErrorResponse", "RatelimitedResponse"]:
    out["errors"][name] = {"$ref": "#/components/schemas/" + name}
    todo.append(name)
while todo:
    name = todo.pop()
    if name in out["components"]["schemas"]:
        continue
    out["components"]["schemas"][name] = schemas[name]
    collect(schemas[name])
json.dump(out, sys.stdout, indent=None, sort_keys=True, ensure_ascii=False)
