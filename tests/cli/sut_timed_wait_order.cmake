# A false S2 the plug-in path used to raise against a correct SUT (tests/checker/sut/fine_grained_sut.c
# with a 3 ms tick): H2 suspends a kthread with a timeout of 9; two later waits time out while it
# waits; the kthread acknowledges in the SUT at tick 10, before H2's deadline of 11, but the model's
# clock had passed H2's deadline (its reading was two ticks behind the SUT's when H2's wait was armed,
# and an explained timeout was judged before the acknowledging step instead of after it). 4 of 10
# replays failed so; the replay must agree every time (checker/sut/SUT.md, "Time").
set(program "dbp.5eg.ep3.vjf.u5n.3et.18nh.oap.zz6.dub/31n.0.ret.1e2k.ppa.0.0.0.1brp.2b7/drz.49w.qvk.uul.12g1.15zp.118s.qez.1ck2.sza/k2h.15or.bq8.ce4.j2a.627.53e.bvk.116r/0.qjg.jsx.xzq.18q2.17qg.jfh.2de.sa.p4l/j4w.9j6.zsn.dfo.1vo.ca9.0.tni.1cwy.vj2/1cnm.jav.gjf.1d2f.ev9.gul.pvg.uqq.1a3j.1631/d0n.taj.w90.ecg.1517.dam.10c4.6e0.1c4y.1b8f/3y6.d2f.cuk.173i.ypx.1a6f.13s5.6ck.1b1y.xdk/n4m.sde.zmq.tem.bak.pov.en4.9dj.en1.yxs/uc.6et.51i.0.0.1b8y.y0s.s00.8kq.1cqh/knc.rpl.0.oui.y7g.ftj.uts.zv8.wxb")
foreach(i RANGE 1 6)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env FGSUT_TICK_US=3000
                          ${CMD} run --sut ${SUT} --threads 3 --kthreads 2 --maxproc 8 --pid-max 12 --no-traces --replay ${program}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "VERDICT: agree")
    message(FATAL_ERROR "replay ${i} of 6 did not agree (exit ${rc}):\n${out}\n${err}")
  endif()
endforeach()
