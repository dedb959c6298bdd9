// notary verification page: hash a file locally (WebCrypto), send only the hash to
// POST /v1/verify, or upload a proof bundle there; show the verdict and every check in
// Chinese and English. Above them, the recipient's check of a notice by its check code
// (POST /v1/check). No framework, no third-party code, no inline script (CSP).
'use strict';

(function () {
  // A file is read whole into memory for crypto.subtle.digest; beyond this we ask for the hash.
  const MAX_BROWSER_BYTES = 2 * 1024 * 1024 * 1024;
  const HEX64 = /^[0-9a-fA-F]{64}$/;

  const STATUS = {
    pass: ['通过', 'passed'],
    fail: ['未通过', 'failed'],
    skip: ['未核验', 'not checked'],
  };
  // A hash with no record is "not found", not merely "not checked".
  const BADGES = { registered: { skip: ['未找到', 'not found'] } };

  // Chains a reader may meet; a local development chain is not public.
  const CHAINS = {
    1: '以太坊主网 / Ethereum mainnet',
    11155111: 'Sepolia 测试网 / Sepolia testnet',
    17000: 'Holesky 测试网 / Holesky testnet',
    31337: '本地开发链，非公链 / local development chain, not public',
  };

  // Plain words for each check the service reports (docs/formats.md §7), per status.
  // Keep in step with notary/certificate/wording.py.
  const CHECKS = {
    registered: {
      pass: ['本服务存有这个 SHA-256 的存证记录。',
        'This service holds a notarisation record for this SHA-256.'],
      skip: ['本服务没有这个 SHA-256 的存证记录。',
        'This service has no notarisation record for this SHA-256.'],
      fail: ['存证记录查询失败。', 'The notarisation record could not be looked up.'],
    },
    statement_signature: {
      pass: ['存证声明由 notary 公布的密钥签名，签名后未被改动。',
        'The statement is signed by a published notary key and has not been altered since.'],
      fail: ['存证声明的签名无效，或声明内容被改动过。',
        'The statement\'s signature is not valid, or the statement was altered.'],
      skip: ['未核验存证声明的签名。', 'The statement\'s signature was not checked.'],
    },
    file_hash: {
      pass: ['文件的 SHA-256 与存证声明记载的一致：正是当时存证的文件。',
        'The file\'s SHA-256 equals the one in the statement: it is the file that was notarised.'],
      fail: ['文件与存证声明记载的不一致：不是当时存证的文件。',
        'The file differs from the one in the statement: it is not the notarised file.'],
      skip: ['只查询了哈希，没有比对文件本身。', 'Only the hash was looked up; the file itself was not compared.'],
    },
    merkle_proof: {
      pass: ['存证声明包含在一个已上链的批次中（默克尔证明成立）。',
        'The statement is included in an anchored batch (the Merkle proof holds).'],
      fail: ['默克尔证明不成立：存证声明不在所称的批次中。',
        'The Merkle proof does not hold: the statement is not in the batch claimed.'],
      skip: ['尚无默克尔证明（可能尚未上链）。',
        'There is no Merkle proof yet (perhaps not anchored yet).'],
    },
    anchor_root: {
      pass: ['锚定记录对应的正是该批次的默克尔根。',
        'The anchor record is for that batch\'s Merkle root.'],
      fail: ['锚定记录与该批次的默克尔根不符。',
        'The anchor record is for a different Merkle root.'],
      skip: ['尚无锚定记录。', 'There is no anchor record yet.'],
    },
    chain_anchor: {
      pass: ['区块链上的记录与锚定记录一致（合约、区块、时间、交易）。',
        'The blockchain\'s record matches the anchor record (contract, block, time, transaction).'],
      fail: ['区块链上的记录与锚定记录不一致。',
        'The blockchain\'s record differs from the anchor record.'],
      skip: ['本次未查询区块链。', 'The blockchain was not consulted this time.'],
    },
  };

  // The checks of a proof bundle (docs/bundle-format.md); per-item ones are named
  // items[i].<check> and use the words above or these.
  Object.assign(CHECKS, {
    keys: {
      pass: ['证据包所附的 notary 公钥有效。', 'The notary public keys in the bundle are valid.'],
      fail: ['证据包所附的公钥缺失或无效。', 'The bundle\'s public keys are missing or invalid.'],
    },
    manifest: {
      pass: ['证据包里的每个文件都列在清单中且哈希一致：没有文件被增加、删除或改动。',
        'Every file of the bundle is in its manifest with a matching hash: nothing was added, removed or changed.'],
      fail: ['证据包里的文件与清单不符：有文件被增加、删除或改动。',
        'The bundle\'s files do not match its manifest: something was added, removed or changed.'],
    },
    manifest_signature: {
      pass: ['清单由 notary 的密钥签名。', 'The manifest is signed by a notary key.'],
      fail: ['清单的签名无效。', 'The manifest\'s signature is not valid.'],
      skip: ['未核验清单的签名。', 'The manifest\'s signature was not checked.'],
    },
    receipt_signature: {
      pass: ['受理回执由 notary 的密钥签名，并与存证声明对应。',
        'The receipt is signed by a notary key and matches the statement.'],
      fail: ['受理回执无效，或与存证声明不对应。',
        'The receipt is not valid, or does not match the statement.'],
    },
    key_validity: {
      pass: ['签名所用的密钥在签名时处于有效期内。', 'The signing key was valid when it signed.'],
      fail: ['签名所用的密钥在签名时不在有效期内。', 'The signing key was not valid when it signed.'],
    },
    anchor_record: {
      pass: ['锚定记录对应的正是该证据所在批次的默克尔根。',
        'The anchor record is for the Merkle root of this item\'s batch.'],
      fail: ['锚定记录与默克尔根不符。', 'The anchor record does not match the Merkle root.'],
    },
    case_sequence: {
      pass: ['案件中的各件证据按顺序首尾相连，没有缺漏。',
        'The case\'s items follow each other in order, linked, with none missing.'],
      fail: ['案件序列有缺漏或断链。', 'The case\'s sequence has a gap or a broken link.'],
      skip: ['未检查案件顺序（见说明）。', 'The case sequence was not checked (see the reason).'],
    },
    certification: {
      pass: ['法庭认证（存证说明）所载事实与证据包各项一致。',
        'The court certification states exactly the facts of the bundle\'s items.'],
      fail: ['法庭认证所载事实与证据包不符。', 'The court certification does not match the bundle\'s items.'],
      skip: ['未能核对法庭认证（见说明）。', 'The court certification could not be compared (see the reason).'],
    },
    certification_signature: {
      pass: ['法庭认证已由说明人以认证指定的密钥签名。',
        'The court certification is signed by the qualified person with the key it names.'],
      fail: ['说明人的签名无效，或不是认证指定的密钥所签。',
        'The qualified person\'s signature is not valid, or not by the key the certification names.'],
      skip: ['说明人尚未以电子方式签名。', 'The qualified person has not signed it digitally yet.'],
    },
    items: {
      fail: ['证据包里没有证据。', 'The bundle holds no evidence.'],
    },
  });

  const VERDICTS = {
    valid: ['存证有效', 'Valid',
      '该文件已在本服务存证，内容与存证时完全一致，并已锚定在区块链上。',
      'This file was notarised by this service, is exactly as it was when notarised, and is anchored on the blockchain.'],
    qualified: ['存证有效（部分检查未进行）', 'Valid, except for the checks not made',
      '已完成的检查全部通过；未进行的检查及原因见下。',
      'Every check made passed; the checks not made, and why, are listed below.'],
    pending: ['已存证，尚未上链', 'Notarised, not yet anchored',
      '存证声明有效，文件未被改动；区块链锚定尚未完成，请稍后再查。',
      'The statement is valid and the file unaltered; anchoring on the blockchain is not finished yet, please check again later.'],
    notfound: ['未找到存证', 'No record found',
      '本服务没有这个 SHA-256 的存证记录。文件可能被改动过（哪怕只改一个字节，哈希也完全不同），或从未在此存证。',
      'This service has no notarisation record for this SHA-256. The file may have been changed (a single changed byte gives a completely different hash), or it was never notarised here.'],
    invalid: ['核验未通过', 'Invalid',
      '至少一项检查未通过，详见下方。不应把它视为已存证的原件。',
      'At least one check failed; see below. Do not treat it as the notarised original.'],
    unknown: ['无法确定', 'Cannot be determined',
      '关键检查未能完成，详见下方。', 'A decisive check could not be made; see below.'],
    // A SHA-256 alone (typed, or the QR code's /verify?sha256=): no file was compared.
    hashonly: ['已存证（仅核对了哈希）', 'Notarised (only the hash was checked)',
      '这个 SHA-256 已在本服务存证并已锚定在区块链上。本次只查询了哈希，没有比对文件本身：请计算您手中文件的 SHA-256（或在上方选择该文件），与这里的数值相同才是存证的那份文件。',
      'This SHA-256 was notarised by this service and is anchored on the blockchain. Only the hash was looked up; the file itself was not compared: compute the SHA-256 of the file you hold (or choose it above); only an equal value shows it is the notarised file.'],
  };

  // A bundle holds several items: the same verdicts, said of each item in it.
  const BUNDLE_VERDICTS = {
    valid: ['证据包有效', 'Valid bundle',
      '证据包中的每件证据都已在本服务存证，内容与存证时一致，并已锚定在区块链上。',
      'Every item in the bundle was notarised by this service, is exactly as notarised, and is anchored on the blockchain.'],
    qualified: ['证据包有效（有保留）', 'Valid bundle, with reservations',
      '完整性、存在时间和签发方均已确立；有的问题或检查未能确认（例如齐全性、保管链、见证人联署，或证据包不含原件），原因见下。',
      'Integrity, existence time and issuer are established; some questions or checks could not be confirmed (completeness, custody, witnesses\' cosignatures, or originals not in the bundle), see why below.'],
    notours: ['不是本服务存证的', 'Not notarised by this service',
      '', ''], // the words come from the answer (this_service.reason): they name the part
    unknown: ['无法确定', 'Cannot be determined',
      '有问题未能回答（例如本服务暂时无法查询区块链），详见下方；请稍后再试。',
      'A question could not be answered (for instance this service could not ask its chain node); see below and try again later.'],
    notestablished: ['签发方未确立', 'Issuer not established',
      '没有发现问题，但未能按信任根确认签发方。', 'Nothing failed, but the issuer could not be established against a trust root.'],
  };

  const QUESTIONS = {
    integrity: ['完整性', 'Integrity'],
    existence_time: ['存在时间', 'Existence time'],
    issuer: ['签发方', 'Issuer'],
    completeness: ['齐全性', 'Completeness'],
    custody: ['保管链', 'Custody'],
    neutrality: ['中立性', 'Neutrality'],
  };
  const ANSWER_STATUS = { pass: ['通过', 'pass'], fail: ['未通过', 'fail'], unknown: ['未知', 'unknown'] };

  const $ = (id) => document.getElementById(id);
  let current = 0; // the latest request; older answers are ignored

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function bilingual(zh, en, tag) {
    const t = tag || 'span';
    return [el(t, { class: 'zh', text: zh }), el(t, { class: 'en', lang: 'en', text: en })];
  }

  function utcText(seconds) {
    const iso = new Date(seconds * 1000).toISOString();
    return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + ' UTC';
  }

  function beijingText(seconds) {
    const iso = new Date((seconds + 8 * 3600) * 1000).toISOString();
    return '北京时间 Beijing time ' + iso.slice(0, 10) + ' ' + iso.slice(11, 19);
  }

  function explorerLink(tx) {
    const meta = document.querySelector('meta[name="notary-explorer"]');
    const template = meta ? meta.getAttribute('content') : '';
    if (!template || !/^https?:\/\//.test(template) || template.indexOf('{tx}') < 0) return null;
    return template.split('{tx}').join(encodeURIComponent(tx));
  }

  function copyButton(value) {
    const button = el('button', { type: 'button', class: 'copy', 'data-copy': value },
      '复制 ', el('span', { lang: 'en', text: 'Copy' }));
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(value);
        button.textContent = '已复制 Copied';
      } catch (e) {
        const range = document.createRange();
        range.selectNodeContents(button.previousSibling);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    });
    return button;
  }

  function factRow(zh, en, value, options) {
    const opts = options || {};
    const dd = el('dd');
    if (opts.link) {
      dd.append(el('a', { class: 'mono', href: opts.link, rel: 'noreferrer', text: value }));
    } else {
      dd.append(el('span', { class: opts.mono ? 'mono' : '', text: value }));
    }
    if (opts.copy) dd.append(copyButton(value));
    if (opts.note) dd.append(el('span', { class: 'note', text: opts.note }));
    return [el('dt', {}, ...bilingual(zh, en)), dd];
  }

  // Who operated, for which tenant, submitted by whom (issue 14): the operator from the signed
  // trust root, with its fingerprint to compare with the court filing; the tenant's and the
  // submitter's names are the tenant's own claims and are marked so.
  function devWarningRows(issuer) {
    const rows = [];
    if (!issuer) return rows;
    if (issuer.local_chain) {
      rows.push(el('dt', { class: 'dev-warning' }, ...bilingual('注意', 'Note')),
        el('dd', { class: 'dev-warning' }, ...bilingual(
          '本服务锚定于本地开发链，他人无法查询：其区块时间不能向任何人证明文件的存在时间。',
          'Anchored on a local development chain that nobody else can query: its block times prove the file\'s existence time to nobody.')));
    } else if (issuer.development) {
      rows.push(el('dt', { class: 'dev-warning' }, ...bilingual('注意', 'Note')),
        el('dd', { class: 'dev-warning' }, ...bilingual(
          '这是开发部署：没有登记的运营方，不代表任何机构。',
          'This is a development deployment: it has no registered operator and speaks for no organisation.')));
    }
    return rows;
  }

  function issuerRows(issuer, withWarning) {
    if (!issuer || !issuer.operator) return [];
    const rows = withWarning ? devWarningRows(issuer) : [];
    const claim = '声明：租户自述，notary 未核实 / stated by the tenant, not verified by notary';
    const op = issuer.operator;
    const opNote = [];
    if (op.registration) opNote.push('登记号 / registration ' + op.registration);
    if (op.country) opNote.push('国家 / country ' + op.country);
    opNote.push(issuer.trust_root_fingerprint ? '取自已签名的信任根 / from the signed trust root'
      : '信任根暂不可得，取自服务设置 / the trust root was unavailable: from the service\'s settings');
    rows.push(...factRow('运营方', 'Operator', op.name, { note: opNote.join(' · ') }));
    if (issuer.trust_root_fingerprint) {
      rows.push(...factRow('信任根指纹', 'Trust-root fingerprint', issuer.trust_root_fingerprint, {
        mono: true, copy: true,
        note: '请与运营方向法院备案的指纹核对，一致时运营方、密钥与合约方属于该运营方 / compare it with the one the operator filed with the court; only if they match are the operator, keys and contract its own' }));
    }
    rows.push(...factRow('机构（租户）', 'Agency (tenant)',
      issuer.tenant_name || '未记录 / not recorded', { note: issuer.tenant_name ? claim : null }));
    rows.push(...factRow('提交人', 'Submitted by',
      issuer.submitter_name || '未命名 / unnamed', { note: issuer.submitter_name ? claim : null }));
    return rows;
  }

  function setProgress(zh, en) {
    const p = $('progress');
    if (zh === null) {
      p.hidden = true;
      p.textContent = '';
      return;
    }
    p.hidden = false;
    p.replaceChildren(...bilingual(zh, en));
  }

  // A hash sent by this page after hashing the chosen file: the file was compared, here.
  function hashedHere(body, subject) {
    return body.file_compared === false && Boolean(subject.fileName) && !subject.bundle;
  }

  function classify(body, subject) {
    const checks = body.checks || [];
    if (subject.bundle) {
      if (body.this_service && body.this_service.notarised_here === false) return 'notours';
      if (body.result === 'not_established') return 'notestablished';
      if (body.result === 'valid') return body.qualified ? 'qualified' : 'valid';
      return body.result === 'invalid' ? 'invalid' : 'unknown';
    }
    const registered = checks.find((c) => c.name === 'registered');
    if (body.result !== 'invalid' && registered && registered.status !== 'pass') return 'notfound';
    if (body.result === 'valid' && body.facts && body.facts.status === 'pending') return 'pending';
    if (body.result === 'valid' && body.file_compared === false) {
      // Only the hash was looked up: the file is compared only when this browser hashed it.
      if (!hashedHere(body, subject)) return 'hashonly';
      const others = checks.filter((c) => c.name !== 'file_hash' && c.status === 'skip');
      return others.length ? 'qualified' : 'valid';
    }
    if (body.result === 'valid') return body.qualified ? 'qualified' : 'valid';
    return body.result === 'invalid' ? 'invalid' : 'unknown';
  }

  function showSubject(subject, facts) {
    const rows = [];
    if (subject.fileName) {
      rows.push(...factRow(subject.bundle ? '证据包' : '文件', subject.bundle ? 'Bundle' : 'File',
        subject.fileName, { note: subject.size.toLocaleString('en') + ' 字节 / bytes' }));
    }
    if (subject.sha256) {
      rows.push(...factRow('SHA-256', 'SHA-256', subject.sha256, { mono: true, copy: true }));
    }
    if (subject.bundle && facts) {
      if (facts.case_id) rows.push(...factRow('案件编号', 'Case', facts.case_id));
      if (Array.isArray(facts.items)) {
        rows.push(...factRow('证据数量', 'Items', String(facts.items.length),
          { note: facts.hashes_only ? '仅含哈希，不含原件 / hashes only, no originals' : null }));
      }
      if (facts.created_at) rows.push(...factRow('生成时间', 'Made at', facts.created_at));
    }
    $('subject').replaceChildren(...rows);
  }

  function showChecks(checks, hashed) {
    const items = checks.map((c) => {
      if (hashed && c.name === 'file_hash' && c.status === 'skip') {
        // The service saw only the hash; this page computed it from the chosen file.
        const li = el('li', { class: 'check pass', 'data-check': c.name, 'data-status': 'pass',
          'data-where': 'browser' });
        li.append(el('span', { class: 'badge' }, ...bilingual('通过', 'passed')));
        li.append(el('div', { class: 'words' }, ...bilingual(
          '您的浏览器计算了所选文件的 SHA-256，与存证声明记载的一致：正是当时存证的文件。',
          'Your browser computed the SHA-256 of the file you chose, and it equals the one in the statement: it is the file that was notarised.', 'p')));
        return li;
      }
      // items[2].merkle_proof: the third item's merkle_proof check
      const part = /^items\[(\d+)\]\.(.+)$/.exec(c.name);
      const base = part ? part[2] : c.name;
      const words = (CHECKS[base] || {})[c.status];
      const status = (BADGES[base] || {})[c.status] || STATUS[c.status] || [c.status, c.status];
      const li = el('li', { class: 'check ' + c.status, 'data-check': c.name, 'data-status': c.status });
      li.append(el('span', { class: 'badge' }, ...bilingual(status[0], status[1])));
      const body = el('div', { class: 'words' });
      if (part) {
        const n = Number(part[1]) + 1;
        body.append(el('p', { class: 'item', text: '第 ' + n + ' 件证据 · Item ' + n }));
      }
      if (words) body.append(...bilingual(words[0], words[1], 'p'));
      else body.append(el('p', { class: 'name mono', text: c.name }));
      body.append(el('p', { class: 'reason', lang: 'en' },
        el('span', { class: 'label', text: '服务器说明 Server\'s reason: ' }), c.reason || ''));
      li.append(body);
      return li;
    });
    $('checks').replaceChildren(...items);
  }

  function anchorRows(facts) {
    const anchor = facts && facts.anchor;
    const rows = [];
    if (facts && facts.received_at) {
      rows.push(...factRow('存证时间', 'Received at', facts.received_at,
        { note: 'notary 服务器时钟 / notary\'s clock' }));
    }
    if (anchor) {
      const link = explorerLink(anchor.tx_hash);
      rows.push(...factRow('链 ID', 'Chain id', String(anchor.chain_id),
        { note: CHAINS[anchor.chain_id] || 'EVM 链 / EVM chain' }));
      rows.push(...factRow('合约地址', 'Contract', anchor.contract, { mono: true, copy: true }));
      rows.push(...factRow('交易哈希', 'Transaction', anchor.tx_hash,
        { mono: true, copy: true, link: link }));
      rows.push(...factRow('区块', 'Block', '#' + anchor.block_number));
      rows.push(...factRow('区块时间', 'Block time', utcText(anchor.block_timestamp),
        { note: beijingText(anchor.block_timestamp) }));
    }
    return rows;
  }

  function showAnchor(facts) {
    let rows = [];
    if (facts && Array.isArray(facts.items)) { // a bundle: each item's file and anchor
      facts.items.forEach((item, i) => {
        rows.push(el('dt', { class: 'item-head' }, '第 ' + (i + 1) + ' 件证据 · Item ' + (i + 1)),
          el('dd', { class: 'item-head' }, item.file_name || item.path || ''));
        if (item.sha256) rows.push(...factRow('文件哈希', 'File SHA-256', item.sha256, { mono: true, copy: true }));
        if (item.evidence_id) rows.push(...factRow('证据编号', 'Evidence ID', item.evidence_id, { mono: true }));
        rows.push(...anchorRows(item));
      });
    } else {
      rows = anchorRows(facts);
    }
    $('anchor').replaceChildren(...rows);
    $('anchor-block').hidden = rows.length === 0;
  }

  function answerItem(a) {
    const q = QUESTIONS[a.question] || [a.question, a.question];
    const st = ANSWER_STATUS[a.status] || [a.status, a.status];
    const reason = a.reason || {};
    const li = el('li', { class: 'answer ' + a.status, 'data-question': a.question, 'data-status': a.status });
    li.append(el('span', { class: 'badge' }, ...bilingual(st[0], st[1])));
    const words = el('div', { class: 'words' });
    words.append(el('p', { class: 'question' }, ...bilingual(q[0] + ' ', q[1])));
    words.append(...bilingual(reason.zh || '', reason.en || '', 'p'));
    li.append(words);
    return li;
  }

  function whoRows(issuer) {
    const rows = [];
    const op = issuer.operator;
    if (op) {
      const extra = [op.registration, op.country, op.url].filter(Boolean).join(' · ');
      rows.push(...factRow('运营方', 'Operator', op.name, { note: extra || null }));
    }
    const dep = issuer.deployment;
    if (dep) {
      rows.push(...factRow('部署', 'Deployment', dep.public_url || '',
        { note: '链 chain ' + dep.chain_id + (dep.development ? ' · 开发部署，非生产 / development deployment' : '') }));
      if (dep.registry) rows.push(...factRow('登记合约', 'Registry', dep.registry, { mono: true, copy: true }));
    }
    const tenants = issuer.tenants || [];
    if (tenants.length) {
      rows.push(...factRow('租户', 'Tenant', tenants.join('；'),
        { note: '本服务记录的租户自述名称 / the name the tenant gave this service' }));
    }
    const subs = (issuer.submitters || []).map((s) => (s.name ? s.name + ' (' + s.submitter + ')' : s.submitter));
    if (subs.length) rows.push(...factRow('提交人', 'Submitted by', subs.join('；')));
    const fp = issuer.trust_root_fingerprint || issuer.bundled_trust_root_fingerprint;
    if (fp) {
      rows.push(...factRow('信任根指纹', 'Trust root', fp, { mono: true, copy: true,
        note: issuer.pinned ? '本服务的信任根，可与证书和备案比对 / this service\'s trust root: compare it with the certificate and the filing'
          : '证据包自带，未固定 / carried by the bundle, not pinned' }));
    }
    if (issuer.claims && (issuer.claims.zh || issuer.claims.en)) {
      rows.push(el('dt', {}, ...bilingual('说明', 'Note')), el('dd', {}, ...bilingual(issuer.claims.zh || '', issuer.claims.en || '', 'p')));
    }
    return rows;
  }

  function showAnswers(body) {
    const answers = Array.isArray(body.answers) ? body.answers : [];
    $('answers').replaceChildren(...answers.map(answerItem));
    const issuer = answers.find((a) => a.question === 'issuer') || {};
    $('who').replaceChildren(...whoRows(issuer));
    $('answers-block').hidden = answers.length === 0;
  }

  function showVerdict(body, subject) {
    const kind = classify(body, subject);
    const words = (subject.bundle && BUNDLE_VERDICTS[kind]) || VERDICTS[kind];
    const box = $('verdict');
    box.className = 'verdict ' + kind;
    box.dataset.verdict = kind;
    box.dataset.result = body.result;
    $('verdict-title').replaceChildren(...bilingual(words[0], words[1]));
    const said = kind === 'notours' && body.this_service ? body.this_service.reason || {} : null;
    $('verdict-zh').textContent = said ? said.zh || '' : words[2];
    $('verdict-en').textContent = said ? said.en || '' : words[3];
    showAnswers(body);
    showSubject(subject, body.facts);
    showChecks(body.checks || [], hashedHere(body, subject));
    showAnchor(body.facts || {});
    const issuer = issuerRows((body.facts || {}).issuer, true);
    $('issuer').replaceChildren(...issuer);
    $('issuer-block').hidden = issuer.length === 0;
    $('details').hidden = false;
    $('result').hidden = false;
    setProgress(null);
    $('result').scrollIntoView({ block: 'start' });
  }

  function showError(zh, en, detail) {
    const box = $('verdict');
    box.className = 'verdict error';
    box.dataset.verdict = 'error';
    box.dataset.result = '';
    $('verdict-title').replaceChildren(...bilingual('无法核验', 'Could not verify'));
    $('verdict-zh').textContent = zh;
    $('verdict-en').textContent = en + (detail ? ' (' + detail + ')' : '');
    $('subject').replaceChildren();
    $('checks').replaceChildren();
    $('answers').replaceChildren();
    $('who').replaceChildren();
    $('answers-block').hidden = true;
    $('issuer').replaceChildren();
    $('issuer-block').hidden = true;
    $('details').hidden = true;
    $('anchor-block').hidden = true;
    $('result').hidden = false;
    setProgress(null);
  }

  async function answer(response, subject, request) {
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (request !== current) return;
    if (!response.ok || !body || !Array.isArray(body.checks)) {
      const message = body && body.message ? body.message : 'HTTP ' + response.status;
      showError('服务器拒绝了这次核验请求。', 'The service refused the request.', message);
      return;
    }
    showVerdict(body, subject);
  }

  async function verifyHash(hex, subject) {
    const request = ++current;
    setProgress('正在核验…', 'Verifying…');
    try {
      const response = await fetch('/v1/verify', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ sha256: hex.toLowerCase() }),
        credentials: 'omit',
      });
      await answer(response, Object.assign({ sha256: hex.toLowerCase() }, subject), request);
    } catch (e) {
      if (request === current) showError('无法连接服务器。', 'The service could not be reached.', String(e));
    }
  }

  async function verifyFile(file) {
    if (!window.crypto || !window.crypto.subtle) {
      showError('此页面不在安全连接（HTTPS）上，浏览器不提供哈希计算。请用 HTTPS 打开，或输入 SHA-256。',
        'This page is not on a secure (HTTPS) connection, so the browser cannot hash. Open it over HTTPS, or enter the SHA-256.');
      return;
    }
    if (file.size > MAX_BROWSER_BYTES) {
      showError('文件太大，无法在浏览器中计算哈希。请用 sha256sum 计算后输入。',
        'The file is too large to hash in the browser. Compute it with sha256sum and enter it.');
      return;
    }
    const request = ++current;
    setProgress('正在本地计算 SHA-256（文件不会上传）…', 'Computing the SHA-256 locally (the file is not uploaded)…');
    try {
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      if (request !== current) return;
      $('hash-input').value = hex;
      await verifyHash(hex, { fileName: file.name, size: file.size });
    } catch (e) {
      if (request === current) showError('无法读取此文件。', 'The file could not be read.', String(e));
    }
  }

  async function verifyBundle(file) {
    const request = ++current;
    setProgress('正在上传并核验证据包…', 'Uploading and checking the bundle…');
    const form = new FormData();
    form.append('bundle', file, file.name);
    try {
      const response = await fetch('/v1/verify', { method: 'POST', body: form, credentials: 'omit' });
      await answer(response, { fileName: file.name, size: file.size, bundle: true }, request);
    } catch (e) {
      if (request === current) showError('无法连接服务器。', 'The service could not be reached.', String(e));
    }
  }

  function verifyTyped(text) {
    const hex = text.trim();
    if (!HEX64.test(hex)) {
      showError('SHA-256 应为 64 位十六进制数字。', 'A SHA-256 is 64 hexadecimal digits.');
      return;
    }
    verifyHash(hex, {});
  }

  // -- The recipient's check: by the code printed on a notice, the file received, or both.
  // The file is hashed here and only its SHA-256 is sent (POST /v1/check, form parts 'code'
  // and 'sha256'); only when this browser cannot hash it (no WebCrypto outside HTTPS, or a
  // file too large to read into memory) is the file itself sent, hashed there and forgotten.
  let checking = 0; // the latest check; older answers are ignored

  function isoSeconds(text) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
  }

  function whenText(text) {
    const seconds = isoSeconds(text);
    if (seconds === null) return [text, text];
    const beijing = new Date((seconds + 8 * 3600) * 1000).toISOString();
    return ['北京时间 ' + beijing.slice(0, 10) + ' ' + beijing.slice(11, 19), utcText(seconds)];
  }

  function dayText(text) {
    const seconds = isoSeconds(text);
    if (seconds === null) return [text, text];
    return [new Date((seconds + 8 * 3600) * 1000).toISOString().slice(0, 10),
      new Date(seconds * 1000).toISOString().slice(0, 10)];
  }

  function setCheckProgress(zh, en) {
    const p = $('check-progress');
    p.hidden = zh === null;
    p.replaceChildren(...(zh === null ? [] : bilingual(zh, en)));
  }

  function showCheck(outcome, title, zh, en, rows) {
    const box = $('check-result');
    box.className = 'check-result ' + outcome;
    box.dataset.outcome = outcome;
    delete box.dataset.anchored;
    delete box.dataset.removed;
    $('check-title').replaceChildren(...bilingual(title[0], title[1]));
    $('check-zh').textContent = zh;
    $('check-en').textContent = en;
    $('check-facts').replaceChildren(...(rows || []));
    box.hidden = false;
    setCheckProgress(null);
    box.scrollIntoView({ block: 'nearest' });
  }

  // The answer in plain words: what was notarised and when, then what the file in hand is.
  function showCheckAnswer(body, ownSha) {
    const received = whenText(body.received_at);
    let zh = '这份文件于' + received[0] + '在本服务存证';
    let en = 'This document was notarised by this service on ' + received[1];
    if (body.anchored && body.anchored_at) {
      const anchoredAt = whenText(body.anchored_at);
      zh += '，并于' + anchoredAt[0] + '锚定在区块链上。';
      en += ' and anchored on the blockchain on ' + anchoredAt[1] + '.';
    } else {
      zh += '；区块链锚定尚未完成（通常几分钟内完成），请稍后再查。';
      en += '; anchoring on the blockchain is not finished yet (usually within minutes), please check again later.';
    }
    let outcome = 'notarised';
    let title = ['已存证', 'Notarised'];
    if (body.unaltered === true) {
      outcome = 'unaltered';
      title = ['已存证，文件未被改动', 'Notarised and unaltered'];
      zh += '您选择的文件与存证的文件完全一致，未被改动。';
      en += ' The file you chose is exactly the notarised one: it is unaltered.';
    } else if (body.unaltered === false) {
      outcome = 'altered';
      title = ['文件与存证的不一致', 'This file differs from the notarised one'];
      zh += '但您选择的文件与存证的文件不一致：它被改动过，或不是同一份文件。';
      en += ' But the file you chose is not the notarised one: it was changed, or it is a different document.';
    } else {
      zh += '如需确认您手中的文件未被改动，请同时选择该文件。';
      en += ' To confirm that the file you hold is unaltered, choose it as well.';
    }
    if (body.removed_at) {
      const removed = dayText(body.removed_at);
      zh += '此后，文件内容已于' + removed[0] + '按数据保护规定删除；在删除之前，存证的文件一直未被改动。';
      en += ' Its content was later removed under data-protection rules on ' + removed[1] +
        '; the document was notarised and unaltered until then.';
      if (outcome !== 'altered') title = [title[0] + '（内容已删除）', title[1] + ' (content since removed)'];
    }
    const rows = [...factRow('存证时间', 'Notarised on', received[0],
      { note: received[1] + ' · notary 服务器时钟 / notary\'s clock' })];
    if (body.anchored && body.anchored_at) {
      const anchoredAt = whenText(body.anchored_at);
      rows.push(...factRow('上链时间', 'Anchored on', anchoredAt[0],
        { note: anchoredAt[1] + ' · 区块时间，以区块链的时钟为准 / the block\'s time, by the blockchain\'s clock' }));
    } else {
      rows.push(...factRow('上链时间', 'Anchored on', '尚未上链 / not yet'));
    }
    if (body.removed_at) {
      const removed = dayText(body.removed_at);
      rows.push(...factRow('内容删除', 'Content removed', removed[0],
        { note: '按数据保护规定 / under data-protection rules' }));
    }
    rows.push(...factRow('存证文件指纹', 'Notarised SHA-256', body.sha256, { mono: true, copy: true }));
    if (ownSha && ownSha !== body.sha256) {
      rows.push(...factRow('您的文件指纹', 'Your file\'s SHA-256', ownSha, { mono: true }));
    }
    const issuer = body.issuer;
    if (issuer && issuer.operator) {
      const agency = issuer.tenant_name || '';
      if (agency) {
        zh += '存证机构（租户自述）：' + agency + '。';
        en += ' It was notarised for ' + agency + ' (as the agency states it).';
      }
      zh += '运营方：' + issuer.operator.name + '。';
      en += ' Operator: ' + issuer.operator.name + '.';
      rows.unshift(...devWarningRows(issuer)); // the first lines say it
      rows.push(...issuerRows(issuer, false));
    }
    showCheck(outcome, title, zh, en, rows);
    $('check-result').dataset.anchored = String(Boolean(body.anchored));
    $('check-result').dataset.removed = String(Boolean(body.removed_at));
  }

  function showCheckRefusal(status, body, byCode) {
    const code = body && body.code;
    if (status === 404 && code === 'document_not_found') {
      if (byCode) {
        showCheck('notfound', ['未找到', 'Not found'],
          '本服务没有与这个核验码对应的存证文件。请核对通知或协议上印的核验码（12 位字母和数字，如 XXXX-XXXX-XXXX）。',
          'This service has no notarised document with this check code. Compare it with the code printed on the notice or agreement (12 letters and digits, like XXXX-XXXX-XXXX).');
      } else {
        showCheck('notfound', ['未找到', 'Not found'],
          '本服务没有与这个文件内容一致的存证：文件可能被改动过（哪怕只改一个字节，指纹也完全不同），或从未在此存证。如通知上印有核验码，请一并输入。',
          'This service notarised no document with this content: the file may have been changed (a single changed byte gives a completely different fingerprint), or it was never notarised here. If the notice has a check code, enter it too.');
      }
      return;
    }
    const detail = body && body.message ? body.message : 'HTTP ' + status;
    if (code === 'check_code_invalid') {
      showCheck('error', ['核验码格式不对', 'Not a check code'],
        '核验码是 12 位字母和数字，印作 XXXX-XXXX-XXXX（不含字母 U；大小写、空格和连字符都不影响）。',
        'A check code is 12 letters and digits printed as XXXX-XXXX-XXXX (no letter U; case, spaces and hyphens do not matter). (' + detail + ')');
      return;
    }
    if (status === 429) {
      showCheck('error', ['请稍后再试', 'Please try again shortly'],
        '短时间内的核验次数太多，请稍等一分钟再试。',
        'Too many checks in a short time; please wait a minute and try again.');
      return;
    }
    showCheck('error', ['无法核验', 'Could not check'], '服务器拒绝了这次核验请求。',
      'The service refused the request. (' + detail + ')');
  }

  async function fileSha256(file) {
    if (!window.crypto || !window.crypto.subtle || file.size > MAX_BROWSER_BYTES) return null;
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function checkDocument(code, file) {
    const request = ++checking;
    const form = new FormData();
    if (code) form.append('code', code);
    let ownSha = null;
    try {
      if (file) {
        setCheckProgress('正在本地计算文件指纹（文件不会上传）…',
          'Computing the file\'s fingerprint locally (the file is not uploaded)…');
        ownSha = await fileSha256(file);
        if (ownSha) {
          form.append('sha256', ownSha);
        } else {
          setCheckProgress('此浏览器无法在本地计算指纹：文件将发送到本服务计算，不会保存…',
            'This browser cannot compute the fingerprint locally: the file is sent to this service to be hashed and is not kept…');
          form.append('file', file, 'document');
        }
      } else {
        setCheckProgress('正在核验…', 'Checking…');
      }
      if (request !== checking) return;
      const response = await fetch('/v1/check', { method: 'POST', body: form, credentials: 'omit' });
      let body = null;
      try {
        body = await response.json();
      } catch (e) {
        body = null;
      }
      if (request !== checking) return;
      if (response.ok && body && body.notarised === true) showCheckAnswer(body, ownSha);
      else showCheckRefusal(response.status, body, Boolean(code));
    } catch (e) {
      if (request === checking) {
        showCheck('error', ['无法核验', 'Could not check'], '无法连接服务器，或无法读取文件。',
          'The service could not be reached, or the file could not be read. (' + String(e) + ')');
      }
    }
  }

  function wireRecipientCheck() {
    let chosen = null;
    const fileInput = $('check-file');
    const showChosen = () => {
      $('check-file-name').textContent = chosen ? chosen.name : '';
      $('check-file-clear').hidden = !chosen;
    };
    fileInput.addEventListener('change', () => {
      chosen = (fileInput.files && fileInput.files[0]) || null;
      fileInput.value = '';
      showChosen();
    });
    $('check-file-clear').addEventListener('click', () => {
      chosen = null;
      showChosen();
    });
    $('check-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const code = $('check-code').value.trim();
      if (!code && !chosen) {
        showCheck('error', ['请输入核验码或选择文件', 'Enter the code or choose the file'],
          '请输入通知上印的核验码，或选择您收到的文件，或两者都提供。',
          'Enter the check code printed on the notice, choose the file you received, or both.');
        return;
      }
      checkDocument(code, chosen);
    });
    const asked = new URLSearchParams(window.location.search).get('code');
    if (asked !== null) {
      $('check-code').value = asked;
      checkDocument(asked.trim(), null);
    }
  }

  function wireDrop(zone, input, handle) {
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      if (file) handle(file);
      input.value = '';
    });
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      const file = e.dataTransfer && e.dataTransfer.files[0];
      if (file) handle(file);
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    // A file dropped outside the zones must not make the browser open (navigate to) it.
    window.addEventListener('dragover', (e) => e.preventDefault());
    window.addEventListener('drop', (e) => e.preventDefault());
    wireDrop($('file-drop'), $('file-input'), verifyFile);
    wireDrop($('bundle-drop'), $('bundle-input'), verifyBundle);
    $('hash-form').addEventListener('submit', (e) => {
      e.preventDefault();
      verifyTyped($('hash-input').value);
    });
    wireRecipientCheck();
    const asked = new URLSearchParams(window.location.search).get('sha256');
    if (asked !== null) {
      $('hash-input').value = asked;
      verifyTyped(asked);
    }
    document.body.dataset.ready = 'true';
  });
}());
