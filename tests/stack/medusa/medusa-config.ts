// The Medusa store used by the dev stack and the integration tests.
// Every setting comes from the environment, with defaults that suit a local machine.
// No REDIS_URL: the in-memory event bus, cache and workflow engine are enough for one process.
import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

const localOrigins = "http://localhost:8000,http://127.0.0.1:8000,http://localhost:9000,http://127.0.0.1:9000"

module.exports = defineConfig({
  admin: {
    // The sync talks to the Admin API only; building the dashboard would cost minutes.
    disable: true,
  },
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/medusa_sync_dev",
    http: {
      jwtSecret: process.env.JWT_SECRET || "local-dev-jwt-secret",
      cookieSecret: process.env.COOKIE_SECRET || "local-dev-cookie-secret",
      storeCors: process.env.STORE_CORS || localOrigins,
      adminCors: process.env.ADMIN_CORS || localOrigins,
      authCors: process.env.AUTH_CORS || localOrigins,
    },
  },
})
