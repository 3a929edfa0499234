// Separate entry point, so that using db-ha without Prisma never loads @prisma/adapter-pg.
export { createPrismaAdapter, type PrismaPgOptions } from './create-prisma-adapter.js'
