"""The DAG's ``doc_md``: the runbook an on-call engineer reads in the Airflow UI (DAG → Details)."""

from __future__ import annotations

RUNBOOK = """\
# Medusa product sync: runbook

Keeps the Medusa store's product catalog in step with the source product API, daily at 00:00 UTC,
one run at a time. Every run writes `report.json` to
`<medusa_sync_storage_url>/medusa_product_sync/<run_id>/` and logs a summary in the `report` task's
log: start there.

## Stages
1. `fetch_pages` reads the source page by page into the run folder; invalid records are
   quarantined. Fails when the source is down or the storage is not writable (the message says).
2. `read_store` lists the store's products into the run folder, alongside the fetch. Fails when
   Medusa is unreachable or refuses the key.
3. `sync_categories` creates missing categories and tags; a failed attempt deletes what it created.
4. `compute_diff` plans create / update / unchanged / missing upstream and writes the batch files;
   it also fails when the deletion guard holds.
5. `upsert_batch` has one instance per ~5 batch files, labelled like `batch 3/12 · 200 create`,
   and sends them; a failed one is cleared and rerun (below).
6. `sync_stock` (only with `sync_inventory` on; skipped otherwise) writes the stock levels that
   differ from the source, in batches, at the stock location; never a product.
7. `report` merges the results into `report.json` and fails the run if any stage or batch failed:
   read `failed_because` in its log.

## Params (Trigger DAG w/ config)
- `dry_run`: plan and report, write nothing to Medusa.
- `full_refresh`: rewrite every product, even unchanged ones.
- `batch_size` (200) products per batch request; `page_size` (100) products per source page.
- `max_products`: sync only the first N (smoke runs); nothing is then treated as missing upstream.
- `on_missing` (`ignore` / `draft` / `delete`) for products gone upstream, acted on only after a
  complete fetch and within `max_missing_percent` (the deletion guard, default 10 %).
- `product_status`, `currency_code`, `sales_channel_id`: what synced products look like.
- `shipping_profile_id`: given to new products and to synced ones without a profile (empty = the
  store's default profile); a profile set by hand is kept.
- `sync_inventory`: variants managed by inventory, their level at `stock_location_id` (empty =
  "Catalog sync", created once) holding the source's stock. Off again later: levels stay as they are.

## What the report's words mean
- **quarantined**: a source record failed validation (the reason names the field); it was not
  synced. Fix it at the source; the next run picks it up.
- **rejected**: Medusa refused that item (its `status`, `type` and `message` are in the report);
  the rest of its batch landed. Usually bad data: fix the source or the store.
- **superseded**: a newer run has planned since (`superseded_by` names it; every item of this
  run's batch, creates and deletes too), or the product changed in the store after this run
  planned it (a person in the admin), so the item was not written. Nothing to do: the newer
  decision stands.
- **not found**: the product was deleted in the store after planning; nothing was written.
- **resumed**: an earlier attempt of the same batch had already written it; counted once.
- **deletion guard**: the run would draft or delete more than `max_missing_percent` of the synced
  products, so it did none and failed. If the removal is real, trigger with a higher value.
- **INCOMPLETE fetch**: the source was not provably read whole; nothing is drafted or deleted.

## Clear and rerun a batch
1. Fix the cause (bring Medusa back, fix the key).
2. Open the failed run, select the failed `upsert_batch` instance(s) (the label says which batch),
   **Clear** with **Only failed** and **Downstream** ticked, so `report` runs again.
3. The instance resends its batch files; files an earlier attempt finished are not sent again,
   products already written are counted as resumed, never created twice. Clearing an old run is
   safe: anything changed since is superseded, never rolled back.
Clearing `compute_diff` replans from the store as it is now; clearing `fetch_pages` starts over.

## Timeouts
A task attempt that runs past its `execution_timeout` fails (and retries like any failure): 30 min
per `upsert_batch` instance, 2 h for the other stages. A run still going after 12 h is failed, so a
hung call never blocks the next day's run. The Airflow components' environment overrides them:
`MEDUSA_SYNC_BATCH_TIMEOUT_MINUTES`, `MEDUSA_SYNC_TASK_TIMEOUT_MINUTES`,
`MEDUSA_SYNC_DAGRUN_TIMEOUT_MINUTES`.

## Failure alerts
A failed run mails one alert (DAG, run, why, failed batches, counts, links) to the addresses in the
Variable `medusa_sync_alert_email` (off when unset) through the SMTP connection `smtp_default`;
sent by the dag-processor, whose log says why when none came.

## Asset
A successful run that changed the catalog emits `medusa_product_catalog` with the run's counts as
the event's `extra`; dry runs and runs that changed nothing emit none.
"""

STOCK_RUNBOOK = """\
# Medusa stock sync: runbook

Hourly, one run at a time: brings the stock levels of synced variants in step with the source's
`stock`. It writes levels only, never products, and only levels that changed.

## Stages
1. `fetch_stock` reads `id` and `stock` of every source product (`select=id,stock`) into the run
   folder; a stock that is negative, not a whole number or missing is quarantined with its reason.
2. `sync_stock` reads the store's levels at the stock location, then writes the ones that differ in
   batches. It takes every slot of the Medusa pool, so it never writes while `medusa_product_sync`
   talks to Medusa. Products the catalog sync has not created yet, and variants not managed by
   inventory (`sync_inventory` off in `medusa_product_sync`), are skipped and counted in its log.

## Safe to clear
A run cleared or retried later re-reads the levels first. Stock it read from the source before a
newer run planned its levels (even one that failed halfway) only creates missing levels; it never
overwrites newer stock.
Reserved quantities are Medusa's: the sync never sends them.
"""
