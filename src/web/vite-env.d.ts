// import.meta.env (PROD, DEV, MODE), which Vite replaces at build time: app/serviceWorker.ts registers the worker only in a production build.
/// <reference types="vite/types/importMeta.d.ts" />
