const { knex } = require('knex');
const ClientPgLite = require('knex-pglite').default ?? require('knex-pglite');
(async () => {
  let t = Date.now();
  const db = knex({ client: ClientPgLite, dialect: 'postgres', connection: {} });
  const r = await db.raw('select count(*)::int as c, version() as v');
  console.log('boot', Date.now() - t, r.rows);
  await db.schema.createTable('x', t => { t.increments(); t.text('a'); });
  await db('x').insert([{a:'1'},{a:'2'}]);
  const c = await db('x').count('* as c');
  console.log(c, typeof c[0].c, process.memoryUsage().rss/1e6);
  const { PGlite } = require('@electric-sql/pglite');
  t = Date.now();
  const p = new PGlite();
  await p.waitReady;
  console.log('pglite2', Date.now() - t, typeof p.clone, typeof p.dumpDataDir);
  t = Date.now();
  const dump = await p.dumpDataDir('none');
  console.log('dump', Date.now()-t, dump.size);
  t = Date.now();
  const p2 = new PGlite({ loadDataDir: dump });
  await p2.waitReady;
  console.log('load', Date.now()-t, process.memoryUsage().rss/1e6);
  if (p.clone) { t = Date.now(); const p3 = await p.clone(); console.log('clone', Date.now()-t, process.memoryUsage().rss/1e6); }
  await db.destroy();
})();
