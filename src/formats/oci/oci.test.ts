// SPDX-License-Identifier: Apache-2.0
// Vectors quoted from the OCI image-spec v1.1.1 (section cited beside each); the rest are built here.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import {
  digestOf,
  EMPTY_JSON_DIGEST,
  embeddedData,
  emptyDescriptor,
  isDigest,
  isValidRefName,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  newImageIndex,
  newImageManifest,
  parseDigest,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseLayoutHeader,
  parseManifestOrIndex,
  validateDescriptor,
  verifyDigest,
} from "./index.js";

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely to build bad inputs
type Doc = Record<string, any>;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const clone = <T>(v: T): T => structuredClone(v);

function throwsCode(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code, e.describe());
    if (field !== undefined) assert.equal(e.field, field, e.describe());
    return true;
  });
}

// descriptor.md "Digests": the example digest strings table.
const SHA256_EXAMPLE = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

// manifest.md "Example Image Manifest", byte for byte as the spec shows it (indentation included).
const MANIFEST_EXAMPLE = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      "size": 32654
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "size": 16724
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
      "size": 73109
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
    "size": 7682
  },
  "annotations": {
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }
}`;

// manifest.md "Guidelines for Artifact Usage", examples 1 to 3.
const ARTIFACT_MINIMAL: Doc = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  artifactType: "application/vnd.example+type",
  config: {
    mediaType: "application/vnd.oci.empty.v1+json",
    digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    size: 2,
  },
  layers: [
    {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      size: 2,
    },
  ],
  annotations: { "oci.opencontainers.image.created": "2023-01-02T03:04:05Z", "com.example.data": "payload" },
};
const ARTIFACT_NO_CONFIG: Doc = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  artifactType: "application/vnd.example+type",
  config: {
    mediaType: "application/vnd.oci.empty.v1+json",
    digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    size: 2,
  },
  layers: [
    {
      mediaType: "application/vnd.example+type",
      digest: "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317",
      size: 1234,
    },
  ],
};
const ARTIFACT_WITH_CONFIG: Doc = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  artifactType: "application/vnd.example+type",
  config: {
    mediaType: "application/vnd.example.config.v1+json",
    digest: "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
    size: 123,
  },
  layers: [
    {
      mediaType: "application/vnd.example.data.v1.tar+gzip",
      digest: "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317",
      size: 1234,
    },
  ],
};

// image-index.md "Example Image Index" and "Example Image Index with multiple media types".
const INDEX_EXAMPLE: Doc = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7143,
      digest: "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      platform: { architecture: "ppc64le", os: "linux" },
    },
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7682,
      digest: "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      platform: { architecture: "amd64", os: "linux" },
    },
  ],
  annotations: { "com.example.key1": "value1", "com.example.key2": "value2" },
};
const INDEX_NESTED_EXAMPLE: Doc = {
  ...clone(INDEX_EXAMPLE),
  manifests: [
    clone(INDEX_EXAMPLE.manifests[0]),
    {
      mediaType: "application/vnd.oci.image.index.v1+json",
      size: 7682,
      digest: "sha256:601570aaff1b68a61eb9c85b8beca1644e698003e0cdb5bce960f193d265a8b7",
    },
  ],
};
// image-layout.md "Index Example": tags, and an entry of a media type unknown to cairn.
const LAYOUT_INDEX_EXAMPLE: Doc = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.index.v1+json",
      size: 7143,
      digest: "sha256:0228f90e926ba6b96e4f39cf294b2586d38fbb5a1e385c05cd1ee40ea54fe7fd",
      annotations: { "org.opencontainers.image.ref.name": "stable-release" },
    },
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7143,
      digest: "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      platform: { architecture: "ppc64le", os: "linux" },
      annotations: { "org.opencontainers.image.ref.name": "v1.0" },
    },
    {
      mediaType: "application/xml",
      size: 7143,
      digest: "sha256:b3d63d132d21c3ff4c35a061adf23cf43da8ae054247e32faa95494d904a007e",
      annotations: {
        "org.freedesktop.specifications.metainfo.version": "1.0",
        "org.freedesktop.specifications.metainfo.type": "AppStream",
      },
    },
  ],
  annotations: { "com.example.index.revision": "r124356" },
};

// config.md "Example".
const CONFIG_EXAMPLE: Doc = {
  created: "2015-10-31T22:22:56.015925234Z",
  author: "Alyssa P. Hacker <alyspdev@example.com>",
  architecture: "amd64",
  os: "linux",
  config: {
    User: "alice",
    ExposedPorts: { "8080/tcp": {} },
    Env: [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "FOO=oci_is_a",
      "BAR=well_written_spec",
    ],
    Entrypoint: ["/bin/my-app-binary"],
    Cmd: ["--foreground", "--config", "/etc/my-app.d/default.cfg"],
    Volumes: { "/var/job-result-data": {}, "/var/log/my-app-logs": {} },
    WorkingDir: "/home/alice",
    Labels: {
      "com.example.project.git.url": "https://example.com/project.git",
      "com.example.project.git.commit": "45a939b2999782a3f005621a8d0f29aa387e1d6b",
    },
  },
  rootfs: {
    diff_ids: [
      "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
      "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
    ],
    type: "layers",
  },
  history: [
    {
      created: "2015-10-31T22:22:54.690851953Z",
      created_by:
        "/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /",
    },
    {
      created: "2015-10-31T22:22:55.613815829Z",
      created_by: '/bin/sh -c #(nop) CMD ["sh"]',
      empty_layer: true,
    },
    { created: "2015-10-31T22:22:56.329850019Z", created_by: "/bin/sh -c apk add curl" },
  ],
};

describe("digests (descriptor.md Digests)", () => {
  test("the example table: sha256 registered, multihash and b64u pass the grammar unregistered", () => {
    assert.deepEqual(parseDigest(SHA256_EXAMPLE), {
      algorithm: "sha256",
      encoded: SHA256_EXAMPLE.slice(7),
      registered: true,
    });
    for (const d of [
      "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
      "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    ]) {
      assert.equal(parseDigest(d).registered, false, d);
    }
    // The table's sha512 example is elided ("..."): it is not a valid digest.
    assert.equal(isDigest("sha512:401b09eab3c013d4ca54922bb802bec8fd5318192b0a75f201d8b372742..."), false);
  });

  test("sha256 and sha512 need exact-length lowercase hex ([A-F] MUST NOT be used)", () => {
    assert.ok(isDigest(`sha512:${"a".repeat(128)}`));
    for (const bad of [
      SHA256_EXAMPLE.toUpperCase(),
      `sha256:${SHA256_EXAMPLE.slice(7).toUpperCase()}`,
      `${SHA256_EXAMPLE}0`,
      SHA256_EXAMPLE.slice(0, -1),
      `sha512:${"a".repeat(64)}`,
      `sha256:${"g".repeat(64)}`,
    ]) {
      throwsCode(() => parseDigest(bad, "x.digest"), "ERR_OCI_MANIFEST_INVALID", "x.digest");
    }
  });

  test("strings outside the grammar are refused", () => {
    for (const bad of [
      "",
      "sha256",
      ":abc",
      "sha256:",
      "SHA256:abc",
      "sha256::a",
      "../x:abc",
      "a..b:c",
      "a:b/c",
      42,
      null,
    ]) {
      assert.equal(isDigest(bad), false, String(bad));
    }
    assert.equal(isDigest(`a:${"b".repeat(600)}`), false, "length bound");
  });

  test("digestOf({}) is the empty descriptor's digest (manifest.md Guidance for an Empty Descriptor)", () => {
    assert.equal(digestOf("{}"), EMPTY_JSON_DIGEST);
    assert.equal(
      EMPTY_JSON_DIGEST,
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
  });

  test("verifyDigest refuses a wrong digest, a wrong size, an unverifiable algorithm", () => {
    const b = enc("hello");
    assert.equal(verifyDigest(b, digestOf(b), { size: 5 }), b);
    assert.equal(verifyDigest(b, digestOf(b, "sha512")), b);
    throwsCode(() => verifyDigest(b, digestOf("hellp")), "ERR_OCI_DIGEST_MISMATCH");
    throwsCode(() => verifyDigest(b, digestOf(b), { size: 4 }), "ERR_OCI_DIGEST_MISMATCH");
    throwsCode(
      () => verifyDigest(b, "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
      "ERR_DIGEST_UNSUPPORTED",
    );
  });

  test("property: digestOf verifies, and any changed byte is refused", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, x) => {
          const d = digestOf(bytes);
          verifyDigest(bytes, d, { size: bytes.length });
          const t = Uint8Array.from(bytes);
          t[at % t.length]! ^= x;
          throwsCode(() => verifyDigest(t, d), "ERR_OCI_DIGEST_MISMATCH");
        },
      ),
    );
  });
});

describe("descriptors (descriptor.md)", () => {
  test("the three examples are valid", () => {
    const base = {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7682,
      digest: "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
    };
    validateDescriptor(clone(base));
    validateDescriptor({ ...clone(base), urls: ["https://example.com/example-manifest"] });
    validateDescriptor({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 123,
      digest: "sha256:87923725d74f4bfb94c9e86d64170f7521aad8221a5de834851470ca142da630",
      artifactType: "application/vnd.example.sbom.v1",
    });
  });

  test("the empty descriptor with data e30= is valid, and data is checked against digest and size", () => {
    // manifest.md "Guidance for an Empty Descriptor".
    const d = validateDescriptor({
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      size: 2,
      data: "e30=",
    });
    assert.equal(embeddedData(d)?.toString(), "{}");
    assert.deepEqual({ ...emptyDescriptor(), data: "e30=" }, d);
    const other = { ...emptyDescriptor(), mediaType: "application/json" };
    throwsCode(
      () => validateDescriptor({ ...other, digest: digestOf("[]"), data: "e30=" }, "layers[0]"),
      "ERR_OCI_DIGEST_MISMATCH",
      "layers[0].data",
    );
    // "e31=" decodes to {} too (non-zero pad bits): a second spelling, refused.
    throwsCode(() => validateDescriptor({ ...other, data: "e31=" }), "ERR_OCI_MANIFEST_INVALID", "data");
    throwsCode(() => validateDescriptor({ ...other, data: "e30" }), "ERR_OCI_MANIFEST_INVALID", "data");
    throwsCode(() => validateDescriptor({ ...other, data: "e3-_" }), "ERR_OCI_MANIFEST_INVALID", "data");
    throwsCode(() => validateDescriptor({ ...other, data: 5 }), "ERR_OCI_MANIFEST_INVALID", "data");
    throwsCode(
      () => validateDescriptor({ ...other, size: 3, data: "e30=" }),
      "ERR_OCI_DIGEST_MISMATCH",
      "data",
    );
  });

  test("an empty-media-type descriptor must describe {}", () => {
    throwsCode(
      () => validateDescriptor({ ...emptyDescriptor(), size: 3 }, "config"),
      "ERR_OCI_MANIFEST_INVALID",
      "config.digest",
    );
    throwsCode(
      () => validateDescriptor({ ...emptyDescriptor(), digest: SHA256_EXAMPLE }, "config"),
      "ERR_OCI_MANIFEST_INVALID",
      "config.digest",
    );
  });

  test("each field is checked and named", () => {
    const good = { mediaType: "application/octet-stream", digest: SHA256_EXAMPLE, size: 1 };
    const cases: [Doc, string][] = [
      [{ ...good, mediaType: undefined }, "l.mediaType"],
      [{ ...good, mediaType: "not a media type" }, "l.mediaType"],
      [{ ...good, mediaType: "application/json; charset=utf-8" }, "l.mediaType"],
      [{ ...good, digest: "sha256:abc" }, "l.digest"],
      [{ ...good, size: -1 }, "l.size"],
      [{ ...good, size: 1.5 }, "l.size"],
      [{ ...good, size: "1" }, "l.size"],
      [{ ...good, size: 2 ** 60 }, "l.size"],
      [{ ...good, size: undefined }, "l.size"],
      [{ ...good, urls: "https://x" }, "l.urls"],
      [{ ...good, urls: ["not a uri"] }, "l.urls[0]"],
      [{ ...good, annotations: { a: "b", c: 1 } }, "l.annotations.c"],
      [{ ...good, annotations: [] }, "l.annotations"],
      [{ ...good, artifactType: "sbom" }, "l.artifactType"],
      [{ ...good, platform: { architecture: "amd64" } }, "l.platform.os"],
      [
        { ...good, platform: { architecture: "amd64", os: "linux", "os.features": [1] } },
        "l.platform.os.features[0]",
      ],
    ];
    for (const [d, field] of cases)
      throwsCode(() => validateDescriptor(d, "l"), "ERR_OCI_MANIFEST_INVALID", field);
    throwsCode(() => validateDescriptor([], "l"), "ERR_OCI_MANIFEST_INVALID", "l");
  });

  test("property: unknown fields survive validation", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc
            .string()
            .filter(
              (k) =>
                ![
                  "mediaType",
                  "digest",
                  "size",
                  "urls",
                  "annotations",
                  "data",
                  "artifactType",
                  "platform",
                  "__proto__",
                ].includes(k),
            ),
          fc.jsonValue(),
        ),
        (extra) => {
          const d = { mediaType: "application/octet-stream", digest: SHA256_EXAMPLE, size: 1, ...extra };
          const before = JSON.stringify(d);
          assert.equal(JSON.stringify(validateDescriptor(d)), before);
        },
      ),
    );
  });
});

describe("image manifests (manifest.md)", () => {
  test("the example manifest parses, kept as its exact bytes", () => {
    const bytes = enc(MANIFEST_EXAMPLE);
    const p = parseManifestOrIndex(bytes);
    assert.equal(p.kind, "manifest");
    assert.equal(p.bytes, bytes);
    assert.equal(p.digest, digestOf(bytes));
    assert.equal(p.size, bytes.length);
    if (p.kind !== "manifest") return;
    assert.equal(p.manifest.layers.length, 3);
    assert.equal(p.manifest.subject?.size, 7682);
    // Verified against an expected digest before parsing:
    parseManifestOrIndex(bytes, MEDIA_TYPE_OCI_MANIFEST, { digest: p.digest, size: p.size });
    const tampered = enc(MANIFEST_EXAMPLE.replace("32654", "32655"));
    throwsCode(
      () => parseManifestOrIndex(tampered, undefined, { digest: p.digest }),
      "ERR_OCI_DIGEST_MISMATCH",
    );
  });

  test("the three artifact examples parse", () => {
    for (const m of [ARTIFACT_MINIMAL, ARTIFACT_NO_CONFIG, ARTIFACT_WITH_CONFIG]) {
      const p = parseImageManifest(enc(m));
      assert.equal(p.manifest.artifactType, "application/vnd.example+type");
    }
  });

  test("an empty config needs artifactType (manifest.md artifactType MUST)", () => {
    const m = clone(ARTIFACT_NO_CONFIG);
    delete m.artifactType;
    throwsCode(() => parseManifestOrIndex(enc(m)), "ERR_OCI_MANIFEST_INVALID", "artifactType");
    // With a config of its own, an artifact may leave artifactType out ("fallback to config.mediaType").
    const w = clone(ARTIFACT_WITH_CONFIG);
    delete w.artifactType;
    parseManifestOrIndex(enc(w));
  });

  test("refusals name the field", () => {
    const base = JSON.parse(MANIFEST_EXAMPLE) as Doc;
    const cases: [(m: Doc) => void, string, string][] = [
      [(m) => (m.layers[2].digest = "sha256:1234"), "ERR_OCI_MANIFEST_INVALID", "layers[2].digest"],
      [(m) => (m.layers[1].size = -5), "ERR_OCI_MANIFEST_INVALID", "layers[1].size"],
      [(m) => delete m.config, "ERR_OCI_MANIFEST_INVALID", "config"],
      [(m) => (m.config.digest = 7), "ERR_OCI_MANIFEST_INVALID", "config.digest"],
      [(m) => delete m.layers, "ERR_OCI_MANIFEST_INVALID", "layers"],
      [(m) => (m.layers = {}), "ERR_OCI_MANIFEST_INVALID", "layers"],
      [(m) => (m.schemaVersion = 3), "ERR_OCI_MANIFEST_INVALID", "schemaVersion"],
      [(m) => (m.schemaVersion = "2"), "ERR_OCI_MANIFEST_INVALID", "schemaVersion"],
      [(m) => (m.subject.mediaType = ""), "ERR_OCI_MANIFEST_INVALID", "subject.mediaType"],
      [
        (m) => (m.annotations["com.example.key1"] = null),
        "ERR_OCI_MANIFEST_INVALID",
        "annotations.com.example.key1",
      ],
      [(m) => (m.artifactType = "nope"), "ERR_OCI_MANIFEST_INVALID", "artifactType"],
      // GHSA-77vh-xpmg-72qh: a manifest that is also an index.
      [(m) => (m.manifests = []), "ERR_OCI_MANIFEST_INVALID", "manifests"],
      [(m) => (m.mediaType = MEDIA_TYPE_OCI_INDEX), "ERR_OCI_MANIFEST_INVALID", "config"],
      [(m) => (m.mediaType = "application/vnd.example"), "ERR_OCI_MEDIA_TYPE", "mediaType"],
      [(m) => (m.mediaType = 2), "ERR_OCI_MANIFEST_INVALID", "mediaType"],
      [(m) => (m.schemaVersion = 1), "ERR_OCI_MEDIA_TYPE", "schemaVersion"],
    ];
    for (const [mutate, code, field] of cases) {
      const m = clone(base);
      mutate(m);
      throwsCode(() => parseManifestOrIndex(enc(m)), code, field);
    }
  });

  test("the mediaType and the hint must agree; without either the shape decides", () => {
    const bytes = enc(MANIFEST_EXAMPLE);
    throwsCode(() => parseManifestOrIndex(bytes, MEDIA_TYPE_OCI_INDEX), "ERR_OCI_MEDIA_TYPE", "mediaType");
    throwsCode(() => parseImageIndex(bytes), "ERR_OCI_MEDIA_TYPE");
    const m = JSON.parse(MANIFEST_EXAMPLE) as Doc;
    delete m.mediaType;
    assert.equal(parseManifestOrIndex(enc(m)).kind, "manifest");
    assert.equal(parseManifestOrIndex(enc(m), MEDIA_TYPE_OCI_MANIFEST).kind, "manifest");
    const i = clone(INDEX_EXAMPLE);
    delete i.mediaType;
    assert.equal(parseManifestOrIndex(enc(i)).kind, "index");
    throwsCode(() => parseManifestOrIndex(enc({ schemaVersion: 2 })), "ERR_OCI_MEDIA_TYPE", "mediaType");
    throwsCode(
      () => parseManifestOrIndex(enc(m), "application/vnd.docker.distribution.manifest.v1+prettyjws"),
      "ERR_OCI_MEDIA_TYPE",
    );
  });

  test("size bound, malformed JSON, not an object", () => {
    const big = enc(`${MANIFEST_EXAMPLE}${" ".repeat(MAX_MANIFEST_BYTES)}`);
    throwsCode(() => parseManifestOrIndex(big, undefined, { file: "m.json" }), "ERR_OCI_TOO_LARGE");
    throwsCode(() => parseManifestOrIndex(enc(MANIFEST_EXAMPLE.slice(0, 100))), "ERR_JSON_MALFORMED");
    throwsCode(() => parseManifestOrIndex(enc("[]")), "ERR_OCI_MANIFEST_INVALID");
    try {
      parseManifestOrIndex(big, undefined, { file: "m.json" });
    } catch (e) {
      assert.equal((e as CairnError).file, "m.json");
    }
  });

  test("Docker schema 2 manifest and manifest list are read (media-types.md compatibility matrix)", () => {
    const m = JSON.parse(MANIFEST_EXAMPLE) as Doc;
    delete m.subject;
    delete m.annotations;
    m.mediaType = MEDIA_TYPE_DOCKER_MANIFEST;
    m.config.mediaType = "application/vnd.docker.container.image.v1+json";
    for (const l of m.layers) l.mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    const p = parseManifestOrIndex(enc(m));
    assert.equal(p.kind, "manifest");
    assert.equal(p.mediaType, MEDIA_TYPE_DOCKER_MANIFEST);
    const noType = clone(m);
    delete noType.mediaType;
    throwsCode(() => parseManifestOrIndex(enc(noType), MEDIA_TYPE_DOCKER_MANIFEST), "ERR_OCI_MEDIA_TYPE");
    const list: Doc = { ...clone(INDEX_EXAMPLE), mediaType: MEDIA_TYPE_DOCKER_MANIFEST_LIST };
    delete list.annotations;
    for (const e of list.manifests) e.mediaType = MEDIA_TYPE_DOCKER_MANIFEST;
    assert.equal(parseManifestOrIndex(enc(list)).kind, "index");
  });

  test("property: newImageManifest round trips through its bytes", () => {
    const desc = fc
      .record({
        mediaType: fc.constantFrom(
          "application/vnd.oci.image.layer.v1.tar+gzip",
          "application/vnd.example.x+json",
        ),
        digest: fc.uint8Array({ maxLength: 32 }).map((b) => digestOf(b)),
        size: fc.nat(),
        annotations: fc.option(fc.dictionary(fc.string(), fc.string()), { nil: undefined }),
      })
      .map((d) => {
        const o: Doc = { ...d };
        if (o.annotations === undefined) delete o.annotations;
        return o;
      });
    fc.assert(
      fc.property(
        desc,
        fc.array(desc, { maxLength: 8 }),
        fc.option(fc.dictionary(fc.string(), fc.string()), { nil: undefined }),
        (config, layers, annotations) => {
          const made = newImageManifest({
            config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" } as never,
            layers: layers as never,
            ...(annotations === undefined ? {} : { annotations }),
          });
          const again = parseManifestOrIndex(made.bytes, MEDIA_TYPE_OCI_MANIFEST, { digest: made.digest });
          assert.equal(again.kind, "manifest");
          assert.deepEqual(
            again.kind === "manifest" && again.manifest,
            JSON.parse(new TextDecoder().decode(made.bytes)),
          );
          assert.equal(again.digest, digestOf(made.bytes));
        },
      ),
    );
  });

  test("property: any tampered byte of a manifest is refused against its digest", () => {
    const bytes = enc(MANIFEST_EXAMPLE);
    const d = digestOf(bytes);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const t = Uint8Array.from(bytes);
        t[at]! ^= x;
        throwsCode(() => parseManifestOrIndex(t, undefined, { digest: d }), "ERR_OCI_DIGEST_MISMATCH");
      }),
    );
  });

  test("property: arbitrary JSON is either a manifest/index or a CairnError, never a crash", () => {
    const seeds = [JSON.parse(MANIFEST_EXAMPLE), INDEX_EXAMPLE, ARTIFACT_MINIMAL, LAYOUT_INDEX_EXAMPLE];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.string(), fc.jsonValue(), (seed, key, value) => {
        const doc = { ...clone(seed), [key]: value };
        try {
          parseManifestOrIndex(enc(doc));
        } catch (e) {
          assert.ok(e instanceof CairnError, String(e));
        }
      }),
    );
  });
});

describe("image indexes (image-index.md)", () => {
  test("the examples parse, nested index and unknown media types included", () => {
    for (const i of [INDEX_EXAMPLE, INDEX_NESTED_EXAMPLE, LAYOUT_INDEX_EXAMPLE]) {
      const p = parseImageIndex(enc(i));
      assert.equal(p.index.manifests.length, i.manifests.length);
    }
    const p = parseImageIndex(enc(INDEX_EXAMPLE));
    assert.deepEqual(p.index.manifests[0]?.platform, { architecture: "ppc64le", os: "linux" });
  });

  test("refusals name the field", () => {
    const cases: [(m: Doc) => void, string][] = [
      [(m) => delete m.manifests, "manifests"],
      [(m) => (m.manifests[1].digest = "sha256:zz"), "manifests[1].digest"],
      [(m) => delete m.manifests[0].platform.os, "manifests[0].platform.os"],
      [(m) => (m.manifests[0].platform.variant = 8), "manifests[0].platform.variant"],
      // GHSA-77vh-xpmg-72qh: an index that is also a manifest.
      [(m) => (m.layers = []), "layers"],
      [(m) => (m.config = {}), "config"],
      [(m) => (m.subject = { mediaType: "x/y" }), "subject.digest"],
    ];
    for (const [mutate, field] of cases) {
      const m = clone(INDEX_EXAMPLE);
      mutate(m);
      throwsCode(() => parseImageIndex(enc(m)), "ERR_OCI_MANIFEST_INVALID", field);
    }
  });

  test("newImageIndex with subject and artifactType", () => {
    const m = newImageManifest({
      config: emptyDescriptor(),
      layers: [emptyDescriptor()],
      artifactType: "application/vnd.example+type",
    });
    const i = newImageIndex({
      manifests: [
        {
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.size,
          artifactType: "application/vnd.example+type",
        },
      ],
      subject: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: SHA256_EXAMPLE, size: 1 },
      artifactType: "application/vnd.example.list",
    });
    assert.equal(parseManifestOrIndex(i.bytes).kind, "index");
    assert.equal(i.index.subject?.digest, SHA256_EXAMPLE);
  });
});

describe("image config (config.md)", () => {
  test("the example parses; unknown fields kept", () => {
    const c = parseImageConfig(enc({ ...CONFIG_EXAMPLE, "com.example.extra": [1] }));
    assert.equal(c.rootfs.diff_ids.length, 2);
    assert.deepEqual(c["com.example.extra"], [1]);
  });

  test("refusals name the field", () => {
    const cases: [(m: Doc) => void, string][] = [
      [(m) => delete m.rootfs, "rootfs"],
      [(m) => (m.rootfs.type = "tarballs"), "rootfs.type"],
      [(m) => (m.rootfs.diff_ids[1] = "sha256:nothex"), "rootfs.diff_ids[1]"],
      [(m) => delete m.architecture, "architecture"],
      [(m) => (m.os = 1), "os"],
      [(m) => (m.created = "yesterday"), "created"],
      [(m) => (m.config.Env = ["A=1", 2]), "config.Env[1]"],
      [(m) => (m.config.Entrypoint = "/bin/sh"), "config.Entrypoint"],
      [(m) => (m.config.Labels = { a: 1 }), "config.Labels.a"],
      [(m) => (m.history[1].empty_layer = "yes"), "history[1].empty_layer"],
    ];
    for (const [mutate, field] of cases) {
      const m = clone(CONFIG_EXAMPLE);
      mutate(m);
      throwsCode(() => parseImageConfig(enc(m)), "ERR_OCI_MANIFEST_INVALID", field);
    }
  });
});

describe("image layout data (image-layout.md, annotations.md)", () => {
  test("oci-layout example; other versions and shapes refused", () => {
    // image-layout.md "oci-layout Example".
    assert.equal(
      parseLayoutHeader(enc('{\n    "imageLayoutVersion": "1.0.0"\n}')).imageLayoutVersion,
      "1.0.0",
    );
    for (const bad of ["{}", '{"imageLayoutVersion":"2.0.0"}', '{"imageLayoutVersion":1}', "[]", "nope"]) {
      throwsCode(() => parseLayoutHeader(enc(bad), "oci-layout"), "ERR_OCI_LAYOUT_INVALID");
    }
  });

  test("ref.name grammar: the tags image-layout.md shows are valid", () => {
    for (const t of ["v1.0.0-vendor.0", "2.0.0-debug", "stable-release", "v1.0", "a/b", "a--b", "x:y@z+w"]) {
      assert.ok(isValidRefName(t), t);
    }
    for (const t of ["", "-x", "x-", "a..b", "a//b", "/a", "a b", "a---b", "é", "x".repeat(129)]) {
      assert.ok(!isValidRefName(t), t);
    }
  });
});
