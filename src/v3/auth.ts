import { InvalidInputError } from "../errors/etcd-error.js";
import { Permission_Type } from "../gen/authpb/auth_ref.js";
import type { ResponseHeader as ResponseHeaderPb } from "../gen/etcdserverpb/rpc_pb.js";
import type { Bytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import type { AttemptOptions, Caller, Connection } from "./connection.js";
import { header, type ResponseHeader } from "./key-value.js";
import { type KeyRangeOptions, keyRange } from "./kv.js";

export type PermissionType = "read" | "write" | "readwrite";

export interface Permission {
  type: PermissionType;
  key: Uint8Array;
  /** Empty for a single key; [0] for every key from `key` on. */
  rangeEnd: Uint8Array;
}

const permTypes: Record<PermissionType, Permission_Type> = {
  read: Permission_Type.READ,
  write: Permission_Type.WRITE,
  readwrite: Permission_Type.READWRITE,
};
const permNames: Record<Permission_Type, PermissionType> = {
  [Permission_Type.READ]: "read",
  [Permission_Type.WRITE]: "write",
  [Permission_Type.READWRITE]: "readwrite",
};

type Done = Promise<{ header: ResponseHeader }>;

/**
 * Auth management: enabling auth, users and roles. The client's own login is the `auth`
 * option of `new Etcd()`. Passwords are sent to etcd and never logged.
 */
export class AuthApi {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  async status(options: CallOptions = {}): Promise<{ enabled: boolean; authRevision: bigint }> {
    return this.caller.unary(options, true, async (c, a) => {
      const res = await c.auth.authStatus({}, a);
      return { enabled: res.enabled, authRevision: res.authRevision };
    });
  }

  /** Turns auth on; a "root" user with the "root" role must exist. */
  async enable(options: CallOptions = {}): Done {
    return this.done(options, (c, a) => c.auth.authEnable({}, a));
  }

  async disable(options: CallOptions = {}): Done {
    return this.done(options, (c, a) => c.auth.authDisable({}, a));
  }

  async userAdd(name: string, password: string, options: CallOptions = {}): Done {
    const req = { name: nonEmpty(name, "name"), password };
    return this.done(options, (c, a) => c.auth.userAdd(req, a));
  }

  async userDelete(name: string, options: CallOptions = {}): Done {
    const req = { name: nonEmpty(name, "name") };
    return this.done(options, (c, a) => c.auth.userDelete(req, a));
  }

  async userChangePassword(name: string, password: string, options: CallOptions = {}): Done {
    const req = { name: nonEmpty(name, "name"), password };
    return this.done(options, (c, a) => c.auth.userChangePassword(req, a));
  }

  async userGrantRole(user: string, role: string, options: CallOptions = {}): Done {
    const req = { user: nonEmpty(user, "user"), role: nonEmpty(role, "role") };
    return this.done(options, (c, a) => c.auth.userGrantRole(req, a));
  }

  async userRevokeRole(name: string, role: string, options: CallOptions = {}): Done {
    const req = { name: nonEmpty(name, "name"), role: nonEmpty(role, "role") };
    return this.done(options, (c, a) => c.auth.userRevokeRole(req, a));
  }

  /** The roles granted to a user. */
  async userGet(name: string, options: CallOptions = {}): Promise<string[]> {
    return this.caller.unary(
      options,
      true,
      async (c, a) => (await c.auth.userGet({ name }, a)).roles,
    );
  }

  async userList(options: CallOptions = {}): Promise<string[]> {
    return this.caller.unary(options, true, async (c, a) => (await c.auth.userList({}, a)).users);
  }

  async roleAdd(name: string, options: CallOptions = {}): Done {
    const req = { name: nonEmpty(name, "name") };
    return this.done(options, (c, a) => c.auth.roleAdd(req, a));
  }

  async roleDelete(role: string, options: CallOptions = {}): Done {
    const req = { role: nonEmpty(role, "role") };
    return this.done(options, (c, a) => c.auth.roleDelete(req, a));
  }

  /** The permissions of a role. */
  async roleGet(role: string, options: CallOptions = {}): Promise<Permission[]> {
    return this.caller.unary(options, true, async (c, a) =>
      (await c.auth.roleGet({ role }, a)).perm.map((p) => ({
        type: permNames[p.permType] ?? "read",
        key: p.key,
        rangeEnd: p.rangeEnd,
      })),
    );
  }

  async roleList(options: CallOptions = {}): Promise<string[]> {
    return this.caller.unary(options, true, async (c, a) => (await c.auth.roleList({}, a)).roles);
  }

  /** Grants a role access to a key, or a range (prefix, rangeEnd, fromKey). */
  async roleGrantPermission(
    role: string,
    type: PermissionType,
    key: Bytes,
    options: KeyRangeOptions & CallOptions = {},
  ): Done {
    const permType = permTypes[type];
    if (permType === undefined) {
      throw new InvalidInputError(`permission type must be read, write or readwrite`, "type");
    }
    const req = {
      name: nonEmpty(role, "role"),
      perm: { permType, ...keyRange(key, options, "roleGrantPermission") },
    };
    return this.done(options, (c, a) => c.auth.roleGrantPermission(req, a));
  }

  async roleRevokePermission(
    role: string,
    key: Bytes,
    options: KeyRangeOptions & CallOptions = {},
  ): Done {
    const req = { role: nonEmpty(role, "role"), ...keyRange(key, options, "roleRevokePermission") };
    return this.done(options, (c, a) => c.auth.roleRevokePermission(req, a));
  }

  /** A management call: not retried once sent. */
  private done(
    options: CallOptions,
    call: (c: Connection, a: AttemptOptions) => Promise<{ header?: ResponseHeaderPb | undefined }>,
  ): Done {
    return this.caller.unary(options, false, async (c, a) => ({
      header: header((await call(c, a)).header, "auth"),
    }));
  }
}

function nonEmpty(v: string, field: string): string {
  if (typeof v !== "string" || v === "") {
    throw new InvalidInputError(`${field} must be a non-empty string`, field);
  }
  return v;
}
