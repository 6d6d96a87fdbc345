export declare const names: readonly string[];
export declare function bundleFile(): string;
export declare function buildBundle(): Promise<string>;
