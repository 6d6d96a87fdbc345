// The Kubernetes client's classes, from one bundled file (client-bundle.mjs says
// why) when npm's postinstall built it, else from the package itself. Every run-
// time use of @kubernetes/client-node goes through here (lint enforces it), so
// `instanceof ApiException` always meets the same class; types still come from
// the package. TODO_KUBE_CLIENT_BUNDLE=0 loads the package (to rule the bundle out).
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type * as Client from '@kubernetes/client-node';
import type NodeFetch from 'node-fetch';
import { bundleFile } from './client-bundle.mjs';

async function load(): Promise<typeof Client & { fetch: typeof NodeFetch }> {
  const file = process.env.TODO_KUBE_CLIENT_BUNDLE === '0' ? '' : bundleFile();
  if (file && fs.existsSync(file))
    return (await import(pathToFileURL(file).href)) as typeof Client & { fetch: typeof NodeFetch };
  // eslint-disable-next-line no-restricted-syntax -- the packages themselves, when the bundle is missing
  return { ...(await import('@kubernetes/client-node')), fetch: (await import('node-fetch')).default };
}

const client = await load();

export const {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  Metrics,
  PatchStrategy,
  PortForward,
  VersionApi,
  Watch,
  // the client's node-fetch: the fetch applyToFetchOptions' options are for
  fetch,
} = client;

export type ApiException<T> = Client.ApiException<T>;
export type AppsV1Api = Client.AppsV1Api;
export type AutoscalingV2Api = Client.AutoscalingV2Api;
export type CoreV1Api = Client.CoreV1Api;
export type Exec = Client.Exec;
export type KubeConfig = Client.KubeConfig;
export type KubernetesObjectApi = Client.KubernetesObjectApi;
export type ListWatch<T extends Client.KubernetesObject> = Client.ListWatch<T>;
export type Metrics = Client.Metrics;
export type PatchStrategy = Client.PatchStrategy;
export type PortForward = Client.PortForward;
export type VersionApi = Client.VersionApi;
export type Watch = Client.Watch;
