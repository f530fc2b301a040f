// The compose stack's medusa-init: give the sync a secret API key of the bundled store, no copy-paste.
// Logs in as the admin medusa-init created, creates a secret key titled "medusa-sync" and writes its
// token to the file named on the command line (a volume airflow-init reads to make the connection).
// Runs once: an existing, non-empty key file is kept, so a restart never makes a second key.
import { existsSync, readFileSync, writeFileSync } from "node:fs"

const [target] = process.argv.slice(2)
const base = process.env.MEDUSA_URL || "http://medusa:9000"
const email = process.env.MEDUSA_ADMIN_EMAIL
const password = process.env.MEDUSA_ADMIN_PASSWORD

if (existsSync(target) && readFileSync(target, "utf8").trim()) {
  console.log(`the sync's API key is already in ${target}: kept`)
  process.exit(0)
}

async function call(path, token, body) {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  if (!response.ok) {
    throw new Error(`POST ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
  }
  return response.json()
}

const { token } = await call("/auth/user/emailpass", null, { email, password })
const { api_key } = await call("/admin/api-keys", token, { title: "medusa-sync", type: "secret" })
writeFileSync(target, api_key.token, { mode: 0o640 })
console.log(`created the secret API key "medusa-sync" (${api_key.id}); its token is in ${target}`)
