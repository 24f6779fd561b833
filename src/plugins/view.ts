// Server-rendered pages: Handlebars with one layout and partials, compiled once
// (@fastify/view caches templates only with `production: true`).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyView from '@fastify/view';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import Handlebars from 'handlebars';
import { formatDateBR } from '../lib/dates.js';
import { formatBRL } from '../lib/money.js';
import { projectPath } from '../lib/paths.js';

declare module 'fastify' {
  interface FastifyReply {
    renderPage(page: string, data?: Record<string, unknown>): FastifyReply;
  }
}

const VIEWS = projectPath('views');

export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper('brl', (cents: number) => formatBRL(cents));
  hbs.registerHelper('dateBR', (date: string) => (date ? formatDateBR(date) : ''));
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  return hbs;
}

function partials(): Record<string, string> {
  const dir = path.join(VIEWS, 'partials');
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir)) {
    if (file.endsWith('.hbs')) out[path.basename(file, '.hbs')] = `partials/${file}`;
  }
  return out;
}

const STATUS_MESSAGES: Record<number, { title: string; message: string }> = {
  400: { title: 'Pedido inválido', message: 'Não conseguimos entender o pedido. Volte e tente de novo.' },
  403: { title: 'Sessão expirada', message: 'Por segurança, este formulário expirou. Volte, recarregue a página e tente de novo.' },
  404: { title: 'Página não encontrada', message: 'O endereço não existe ou não está mais disponível.' },
  429: { title: 'Muitas tentativas', message: 'Houve muitas tentativas seguidas a partir desta conexão.' },
  500: { title: 'Algo deu errado', message: 'Tivemos um problema do nosso lado. Nada do que você fez se perdeu; tente de novo em alguns minutos.' },
  503: { title: 'Serviço indisponível', message: 'O serviço está em manutenção. Tente de novo em alguns minutos.' },
};

async function viewPlugin(app: FastifyInstance, opts: { production: boolean }): Promise<void> {
  const hbs = createHandlebars();
  await app.register(fastifyView, {
    engine: { handlebars: hbs },
    root: VIEWS,
    layout: 'layouts/main.hbs',
    viewExt: 'hbs',
    production: opts.production,
    options: { partials: partials() },
  });

  // In production each page is compiled once, inside the layout, and rendered in one
  // synchronous call (the page as a partial where the layout prints {{{body}}}: the same
  // HTML as rendering the page and then the layout, as @fastify/view does, for half the
  // template setup; `ignoreStandalone` keeps the layout's line breaks around it). In
  // development @fastify/view reads the files again on every render.
  const layoutSource = opts.production ? readFileSync(path.join(VIEWS, 'layouts/main.hbs'), 'utf8') : '';
  const pages = new Map<string, (context: Record<string, unknown>) => string>();
  const compiledPage = (page: string) => {
    let render = pages.get(page);
    if (!render) {
      const pagePartial = { __page__: hbs.compile(readFileSync(path.join(VIEWS, `pages/${page}.hbs`), 'utf8')) };
      const withLayout = hbs.compile(layoutSource.replace('{{{body}}}', '{{> __page__}}'), { ignoreStandalone: true });
      render = (context) => withLayout(context, { partials: pagePartial });
      pages.set(page, render);
    }
    return render;
  };
  if (opts.production) {
    for (const [name, file] of Object.entries(partials())) hbs.registerPartial(name, hbs.compile(readFileSync(path.join(VIEWS, file), 'utf8')));
  }

  app.decorateReply('renderPage', function (this: FastifyReply, page: string, data: Record<string, unknown> = {}) {
    const status = typeof data.status === 'number' ? data.status : this.statusCode;
    const known = STATUS_MESSAGES[status] ?? (status >= 500 ? STATUS_MESSAGES[500]! : STATUS_MESSAGES[400]!);
    const pageData = page === 'error' ? { ...known, ...data } : data;
    this.header('referrer-policy', 'no-referrer');
    this.header('cache-control', 'no-store');
    this.type('text/html; charset=utf-8');
    const context: Record<string, unknown> = { lang: 'pt-BR', ...pageData };
    if (!opts.production) return this.view(`pages/${page}.hbs`, context) as unknown as FastifyReply;
    return this.send(compiledPage(page)(context));
  });
}

export const CSS = readFileSync(path.join(VIEWS, 'static', 'quita.css'), 'utf8');

export default fp(viewPlugin, { name: 'view' });
