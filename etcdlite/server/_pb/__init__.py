"""Generated protobuf and gRPC modules for etcd's v3 API (private: never import from outside
etcdlite). Do not edit: ``python scripts/gen_proto.py`` regenerates this package from
``etcdlite/server/proto/*.proto``.
"""
