import path from "node:path";
import type { NextConfig } from "next";

// This folder is the Docker build context and lives inside a larger repo:
// pin the tracing/workspace root here so `.next/standalone/server.js` is at
// the top of the standalone folder, not nested under the repo layout.
const root = path.resolve(__dirname);

const nextConfig: NextConfig = {
  output: "standalone",
  outputFileTracingRoot: root,
  turbopack: { root },
  poweredByHeader: false,
  reactStrictMode: true,
  // No next/image in this app; don't pull an image optimizer into the server.
  images: { unoptimized: true },
  // ...and keep sharp's native binaries (about 20 MB) out of the standalone
  // output: it is only loaded lazily by the image optimizer, which is off.
  outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default nextConfig;
