#!/usr/bin/env python3
"""Generate the ECS task-definition model from the ECS API model (botocore's service-2.json).

Usage: generate-model.py PATH/TO/service-2.json

Writes, relative to the repository root:
  Sources/ECSModel/Generated/Shapes+Generated.swift   Codable types for every shape reachable from ROOTS
  Sources/ECSModel/Generated/Schema+Generated.swift   the same shapes as data, for the strict decoder
  Tests/ECSModelTests/Resources/ecs-shapes.json the extract (no documentation), so the coverage
                                                test can run where the full model is absent

The API model is the source of truth for names and types; nothing here is hand-edited. Run it
again when the model changes and commit the output.
"""
import json, os, sys, keyword

ROOTS = ["RegisterTaskDefinitionRequest", "TaskDefinition", "DescribeTaskDefinitionResponse",
         "TaskOverride", "Task", "Container"]
# The operations the ECS API serves: their requests and responses.
OPERATIONS = ["CreateCluster", "DescribeClusters", "ListClusters", "DeleteCluster", "UpdateCluster",
              "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions",
              "ListTaskDefinitionFamilies", "DeregisterTaskDefinition", "DeleteTaskDefinitions",
              "RunTask", "DescribeTasks", "ListTasks", "StopTask",
              "TagResource", "UntagResource", "ListTagsForResource",
              "CreateService", "UpdateService", "DescribeServices", "ListServices", "DeleteService",
              "PutAccountSetting", "PutAccountSettingDefault", "ListAccountSettings",
              "GetTaskProtection", "UpdateTaskProtection"]
SWIFT_KEYWORDS = {"protocol", "default", "internal", "public", "private", "extension", "import",
                  "operator", "repeat", "return", "static", "struct", "subscript", "switch", "where",
                  "while", "func", "init", "inout", "let", "var", "class", "enum", "case", "in", "is",
                  "self", "Self", "super", "throw", "throws", "true", "false", "nil", "if", "else",
                  "for", "do", "break", "continue", "guard", "defer", "as", "Any", "Type"}
# Names that would shadow types every Swift file uses.
RENAMED = {"String": None, "Integer": None, "Boolean": None, "Long": None, "Double": None}

def main():
    src = sys.argv[1]
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    model = json.load(open(src))
    shapes = model["shapes"]
    order = []
    def walk(n):
        if n in order:
            return
        order.append(n)
        sh = shapes[n]
        t = sh["type"]
        if t == "structure":
            for m in sh["members"].values():
                walk(m["shape"])
        elif t == "list":
            walk(sh["member"]["shape"])
        elif t == "map":
            walk(sh["key"]["shape"]); walk(sh["value"]["shape"])
    for r in ROOTS:
        walk(r)
    for op in OPERATIONS:
        o = model["operations"][op]
        walk(o["input"]["shape"])
        if "output" in o:
            walk(o["output"]["shape"])

    extract = {}
    for n in order:
        sh = shapes[n]
        e = {"type": sh["type"]}
        for k in ("required", "enum", "min", "max", "pattern"):
            if k in sh:
                e[k] = sh[k]
        if sh["type"] == "structure":
            e["members"] = {k: v["shape"] for k, v in sh["members"].items()}
        elif sh["type"] == "list":
            e["member"] = sh["member"]["shape"]
        elif sh["type"] == "map":
            e["key"] = sh["key"]["shape"]; e["value"] = sh["value"]["shape"]
        extract[n] = e
    meta = model.get("metadata", {})
    out = {"source": "ECS API model %s (%s), shapes reachable from %s" % (
        meta.get("apiVersion"), meta.get("serviceId"), ", ".join(ROOTS)), "shapes": extract}
    res = os.path.join(root, "Tests/ECSModelTests/Resources/ecs-shapes.json")
    os.makedirs(os.path.dirname(res), exist_ok=True)
    with open(res, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")

    def swift_type(n):
        sh = shapes[n]
        t = sh["type"]
        if t == "string":
            return "ECS." + n if "enum" in sh else "Swift.String"
        if t == "integer":
            return "Swift.Int"
        if t == "long":
            return "Swift.Int64"
        if t == "boolean":
            return "Swift.Bool"
        if t == "double" or t == "float":
            return "Swift.Double"
        if t == "timestamp":
            return "ECS.Timestamp"
        if t == "list":
            return "[" + swift_type(sh["member"]["shape"]) + "]"
        if t == "map":
            return "[" + swift_type(sh["key"]["shape"]) + ": " + swift_type(sh["value"]["shape"]) + "]"
        if t == "structure":
            return "ECS." + n
        raise SystemExit("unhandled shape type %s for %s" % (t, n))

    def ident(name):
        return "`%s`" % name if name in SWIFT_KEYWORDS else name

    def case_name(v):
        parts = [p for p in v.replace("-", "_").replace(".", "_").replace(" ", "_").split("_") if p]
        if not parts:
            return "empty"
        if v.isupper() or "_" in v:
            words = [p.lower() for p in parts]
        else:
            words = [parts[0][0].lower() + parts[0][1:]] + parts[1:]
        s = words[0] + "".join(w[0].upper() + w[1:] for w in words[1:])
        if s[0].isdigit():
            s = "v" + s
        return ident(s)

    L = []
    L.append("// Generated by Sources/ECSModel/Generator/generate-model.py from the ECS API model.")
    L.append("// Do not edit: change the generator and run it again.")
    L.append("// swiftlint:disable all")
    L.append("")
    L.append("extension ECS {")
    for n in order:
        sh = shapes[n]
        t = sh["type"]
        if t == "string" and "enum" in sh:
            L.append("    /// The ECS API's `%s` values; unknown values decode and are rejected by validation." % n)
            L.append("    public struct %s: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {" % n)
            L.append("        public var rawValue: Swift.String")
            L.append("        public init(rawValue: Swift.String) { self.rawValue = rawValue }")
            L.append("        public init(from decoder: any Decoder) throws {")
            L.append("            self.rawValue = try decoder.singleValueContainer().decode(Swift.String.self)")
            L.append("        }")
            L.append("        public func encode(to encoder: any Encoder) throws {")
            L.append("            var c = encoder.singleValueContainer()")
            L.append("            try c.encode(rawValue)")
            L.append("        }")
            L.append("        public var description: Swift.String { rawValue }")
            L.append("        /// Every value the API model allows.")
            L.append("        public static let allowedValues: [Swift.String] = [%s]" % ", ".join(json.dumps(v) for v in sh["enum"]))
            seen = set()
            for v in sh["enum"]:
                c = case_name(v)
                if c in seen:
                    continue
                seen.add(c)
                L.append("        public static let %s = %s(rawValue: %s)" % (c, n, json.dumps(v)))
            L.append("    }")
            L.append("")
        elif t == "structure":
            members = sh["members"]
            L.append("    /// The ECS API's `%s` shape." % n)
            L.append("    public struct %s: Codable, Hashable, Sendable {" % n)
            for k, v in members.items():
                L.append("        public var %s: %s?" % (ident(k), swift_type(v["shape"])))
            if members:
                params = ", ".join("%s: %s? = nil" % (ident(k), swift_type(v["shape"])) for k, v in members.items())
                L.append("")
                L.append("        public init(%s) {" % params)
                for k in members:
                    L.append("            self.%s = %s" % (k, k if k not in SWIFT_KEYWORDS else "`%s`" % k))
                L.append("        }")
            else:
                L.append("        public init() {}")
            L.append("    }")
            L.append("")
    L.append("}")
    gen = os.path.join(root, "Sources/ECSModel/Generated")
    os.makedirs(gen, exist_ok=True)
    with open(os.path.join(gen, "Shapes+Generated.swift"), "w") as f:
        f.write("\n".join(L) + "\n")

    # The schema, as data the strict decoder walks.
    S = []
    S.append("// Generated by Sources/ECSModel/Generator/generate-model.py from the ECS API model.")
    S.append("// Do not edit: change the generator and run it again.")
    S.append("")
    S.append("extension ECSSchema {")
    S.append("    /// Every shape reachable from %s." % ", ".join("`%s`" % r for r in ROOTS))
    S.append("    public static let shapes: [Swift.String: Shape] = [")
    for n in order:
        sh = shapes[n]
        t = sh["type"]
        if t == "structure":
            mem = ", ".join("(%s, %s)" % (json.dumps(k), json.dumps(v["shape"])) for k, v in sh["members"].items())
            req = ", ".join(json.dumps(r) for r in sh.get("required", []))
            S.append("        %s: .structure(members: [%s], required: [%s])," % (json.dumps(n), mem, req))
        elif t == "list":
            bounds = ""
            if "min" in sh or "max" in sh:
                bounds = ", min: %s, max: %s" % (sh.get("min", "nil"), sh.get("max", "nil"))
            else:
                bounds = ", min: nil, max: nil"
            S.append("        %s: .list(member: %s%s)," % (json.dumps(n), json.dumps(sh["member"]["shape"]), bounds))
        elif t == "map":
            S.append("        %s: .map(key: %s, value: %s)," % (json.dumps(n), json.dumps(sh["key"]["shape"]), json.dumps(sh["value"]["shape"])))
        elif t == "string":
            en = "[" + ", ".join(json.dumps(v) for v in sh["enum"]) + "]" if "enum" in sh else "nil"
            S.append("        %s: .string(enumValues: %s, min: %s, max: %s)," % (json.dumps(n), en, sh.get("min", "nil"), sh.get("max", "nil")))
        elif t == "integer":
            S.append("        %s: .integer," % json.dumps(n))
        elif t == "long":
            S.append("        %s: .long," % json.dumps(n))
        elif t == "boolean":
            S.append("        %s: .boolean," % json.dumps(n))
        elif t == "timestamp":
            S.append("        %s: .timestamp," % json.dumps(n))
        elif t in ("double", "float"):
            S.append("        %s: .double," % json.dumps(n))
        else:
            raise SystemExit("unhandled shape type %s" % t)
    S.append("    ]")
    S.append("}")
    with open(os.path.join(gen, "Schema+Generated.swift"), "w") as f:
        f.write("\n".join(S) + "\n")
    print("generated %d shapes" % len(order))

main()
