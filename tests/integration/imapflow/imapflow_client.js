// imapflow_client.js: the Node.js IMAP client imapflow (npm) driven
// against surel's imapd for tests/integration/test_imap_clients.py.
//
// Input: the environment variable IMAPFLOW_TEST, JSON with host, port
// (IMAPS), user, pass, ca (the test certificate's path), the markers of
// the messages the test delivered, and the attachment part to download.
// Output on stdout, one line each: "IDLE-READY <exists>" once the client
// idles in INBOX (the test then delivers a message), and at the end
// "RESULT <json>" with everything the client saw, which the test checks
// against the Maildir and its own IMAP session. Any failure: "ERROR ..."
// on stderr and exit status 1. Every wait is bounded.
'use strict';

const fs = require('fs');
const { ImapFlow } = require('imapflow');

const cfg = JSON.parse(process.env.IMAPFLOW_TEST);
const IDLE_WAIT_MS = 20000;

function plain(value) {
	// BigInt (UIDVALIDITY, MODSEQ), Set and Map made JSON-friendly.
	return JSON.parse(JSON.stringify(value, (k, v) => {
		if (typeof v === 'bigint') return v.toString();
		if (v instanceof Set) return [...v].sort();
		if (v instanceof Map) return Object.fromEntries(v);
		return v;
	}));
}

async function streamToBuffer(stream) {
	const chunks = [];
	for await (const c of stream) chunks.push(c);
	return Buffer.concat(chunks);
}

function withTimeout(promise, ms, what) {
	let timer;
	const t = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(what + ': no answer in ' + ms + ' ms')), ms);
	});
	return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function listAndCreate(client, out) {
	await client.mailboxCreate('Work');
	const list = await client.list();
	out.list = list.map(m => ({ path: m.path, delimiter: m.delimiter,
		specialUse: m.specialUse || null, flags: plain(m.flags) }));
}

async function fetchAll(client, out) {
	const box = await client.mailboxOpen('INBOX');
	out.inbox = { exists: box.exists, uidValidity: plain(box.uidValidity),
		uidNext: box.uidNext };
	out.messages = [];
	for await (const m of client.fetch('1:*', { uid: true, flags: true,
		envelope: true, bodyStructure: true, internalDate: true, size: true,
		headers: ['x-marker'] })) {
		out.messages.push(plain({ seq: m.seq, uid: m.uid, flags: m.flags,
			subject: m.envelope.subject, from: m.envelope.from,
			messageId: m.envelope.messageId, size: m.size,
			internalDate: m.internalDate.toISOString(),
			bodyStructure: m.bodyStructure,
			marker: m.headers.toString().replace(/^x-marker:\s*/i, '').trim() }));
	}
}

async function parts(client, out) {
	const target = out.messages.find(m => m.marker === cfg.multipart);
	if (!target) throw new Error('multipart message not found');
	const dl = await client.download(String(target.uid), cfg.part, { uid: true });
	out.part = { meta: plain(dl.meta), base64: (await streamToBuffer(dl.content)).toString('base64') };
	const one = await client.fetchOne(String(target.uid), { bodyParts: ['1'] }, { uid: true });
	out.part1 = one.bodyParts.get('1').toString('utf8');
}

async function search(client, out) {
	out.search = {
		marker: await client.search({ header: { 'x-marker': cfg.search } }, { uid: true }),
		body: await client.search({ body: cfg.bodyword }, { uid: true }),
		unseen: await client.search({ seen: false }, { uid: true }),
		all: await client.search({ all: true }, { uid: true }),
	};
}

async function appendAndMove(client, out) {
	const raw = 'From: <flow@example.test>\r\nTo: <' + cfg.user + '>\r\n' +
		'Subject: appended by imapflow\r\nX-Marker: ' + cfg.appended + '\r\n' +
		'Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nAppended.\r\n';
	const res = await client.append('Work', raw, ['\\Seen', '$Flow'], new Date('2024-01-02T03:04:05Z'));
	out.append = plain(res);
	const mv = await client.messageMove(String(cfg.moveUid), 'Work', { uid: true });
	out.move = plain(mv);
}

async function idle(client, out) {
	const before = client.mailbox.exists;
	let resolveExists;
	const gotExists = new Promise(r => { resolveExists = r; });
	client.on('exists', data => {
		if (data.path === 'INBOX' && data.count > before) resolveExists(data);
	});
	const idling = client.idle();
	const deadline = Date.now() + 10000;
	while (!client.idling && Date.now() < deadline)
		await new Promise(r => setTimeout(r, 20));
	if (!client.idling) throw new Error('IDLE did not start');
	const t0 = Date.now();
	process.stdout.write('IDLE-READY ' + before + '\n');
	const ev = await withTimeout(gotExists, IDLE_WAIT_MS, 'EXISTS during IDLE');
	out.idle = { prevCount: before, count: ev.count, ms: Date.now() - t0 };
	const m = await client.fetchOne(String(ev.count), { envelope: true, headers: ['x-marker'] });
	out.idle.marker = m.headers.toString().replace(/^x-marker:\s*/i, '').trim();
	await idling.catch(() => {});
}

async function main() {
	const client = new ImapFlow({
		host: cfg.host, port: cfg.port, secure: true,
		tls: { ca: [fs.readFileSync(cfg.ca)], servername: 'localhost' },
		auth: { user: cfg.user, pass: cfg.pass },
		logger: false, emitLogs: false,
		// No automatic IDLE: the test decides when to idle.
		disableAutoIdle: true,
	});
	const out = {};
	await withTimeout(client.connect(), 15000, 'connect');
	out.capabilities = [...client.capabilities.keys()].sort();
	out.enabled = [...client.enabled].sort();
	await listAndCreate(client, out);
	await fetchAll(client, out);
	await parts(client, out);
	await search(client, out);
	await appendAndMove(client, out);
	await idle(client, out);
	await withTimeout(client.logout(), 15000, 'logout');
	process.stdout.write('RESULT ' + JSON.stringify(out) + '\n');
}

main().then(() => process.exit(0), err => {
	process.stderr.write('ERROR ' + (err && err.stack || err) + '\n');
	if (err && err.response) process.stderr.write('RESPONSE ' + err.response + '\n');
	process.exit(1);
});
